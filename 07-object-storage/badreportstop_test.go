package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/deadaddr"
	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// A stop ends the metadata server's checks of bad-copy reports before the
// metadata and data servers stop (meta.Server.Close): a check still
// running then found the data servers gone, as no answer, and forgot
// every copy it checked, intact or not. Once the program has stopped,
// the metadata server takes no report; with the checks left running it
// took one (202) and checked it against the stopped data server.
func TestAStopEndsTheChecksOfBadCopyReports(t *testing.T) {
	var o options
	require.NoError(t, newFlagSet(&o).Parse([]string{"-role", "meta"}))
	s := &store{opt: o, dir: t.TempDir(), stdout: io.Discard}
	defer s.close()
	_, err := s.startMeta("127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, s.serve(ctx))

	// A copy on record, at a data server that is gone.
	data := []byte("a copy on record")
	h, addr := blob.Sum(data), deadaddr.URL(t)
	require.NoError(t, s.ns.SetServerAddr("ds-1", addr))
	_, err = s.ns.Commit(meta.CommitRequest{Key: "k", Hash: h, Size: int64(len(data)), Replicas: []string{"ds-1"}}, time.Now())
	require.NoError(t, err)

	body, err := json.Marshal(meta.BadReplica{Hash: h, Addr: addr})
	require.NoError(t, err)
	w := httptest.NewRecorder()
	s.meta.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/bad", bytes.NewReader(body)))
	s.meta.WaitReports() // a check it took, done before the namespace closes
	assert.Equal(t, http.StatusServiceUnavailable, w.Code, "a report after the stop: %s", w.Body)
	ids, err := s.ns.Replicas(h)
	require.NoError(t, err)
	assert.Equal(t, []string{"ds-1"}, ids, "a check after the stop forgot the copy")
}
