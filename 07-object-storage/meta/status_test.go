package meta_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/meta"
)

func writeAged(path string, age time.Duration) error {
	if err := os.WriteFile(path, []byte("partial"), 0o644); err != nil {
		return err
	}
	t := time.Now().Add(-age)
	return os.Chtimes(path, t, t)
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// /status and /metrics show each data server's state as the clock moves.
func TestStatusAndMetricsShowStates(t *testing.T) {
	cl, c := store(t, 3, meta.Options{})
	putN(t, c, 3)
	cl.Kill(2)
	cl.Clock.Add(15 * time.Second)
	cl.Beat()
	var st meta.StatusReport
	require.NoError(t, json.Unmarshal([]byte(get(t, cl.MetaURL+"/status")), &st))
	var states []meta.State
	for _, s := range st.Servers {
		states = append(states, s.State)
	}
	assert.Equal(t, []meta.State{meta.Alive, meta.Alive, meta.Suspect}, states)
	assert.Nil(t, st.LastRepair, "no round yet")

	cl.Clock.Add(30 * time.Second)
	cl.Beat()
	round(t, cl)
	m := get(t, cl.MetaURL+"/metrics")
	for _, line := range []string{
		`objectstore_dataserver_state{id="ds-00",state="alive"} 1`,
		`objectstore_dataserver_state{id="ds-02",state="dead"} 1`,
		`objectstore_dataserver_state{id="ds-02",state="alive"} 0`,
		`objectstore_repair_rounds_total 1`,
		"# TYPE objectstore_dataserver_state gauge",
	} {
		assert.Contains(t, m, line+"\n")
	}
	require.NoError(t, json.Unmarshal([]byte(get(t, cl.MetaURL+"/status")), &st))
	require.NotNil(t, st.LastRepair)
	assert.Equal(t, st.LastRepair.Copied, countLine(m, "objectstore_repair_copies_total"))

	// After a restart, a server not heard from yet is listed from the
	// database, alive until the timeout says otherwise.
	cl.RestartMeta()
	require.NoError(t, json.Unmarshal([]byte(get(t, cl.MetaURL+"/status")), &st))
	assert.Len(t, st.Servers, 3)
}

func countLine(metrics, name string) int {
	for line := range strings.Lines(metrics) {
		var n int
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			json.Unmarshal([]byte(strings.TrimSpace(rest)), &n)
			return n
		}
	}
	return -1
}

// Run drives repair rounds and GC from tick channels.
func TestRunOnTicks(t *testing.T) {
	cl, c := store(t, 3, meta.Options{})
	putN(t, c, 2)
	repair, collect := make(chan time.Time), make(chan time.Time)
	ctx, cancel := context.WithCancel(bg)
	done := make(chan struct{})
	go func() { cl.Meta().Run(ctx, repair, collect); close(done) }()
	repair <- time.Time{}
	collect <- time.Time{}
	repair <- time.Time{} // accepted only once the GC above is done
	cancel()
	<-done
	st := cl.Meta().Status()
	require.NotNil(t, st.LastRepair)
	require.NotNil(t, st.LastGC)
	assert.Equal(t, 2, st.LastRepair.Blobs)
}
