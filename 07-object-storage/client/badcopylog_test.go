package client_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// lockedBuffer is a log destination safe for the client's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A bad copy found by a read is a warning in the client's log, naming
// the data server and the blob, whole reads and streamed ones alike: an
// operator (or the tool's -v) hears of a failing data server although
// the read succeeds from another copy. It was reported without a word.
func TestABadCopyFoundIsLogged(t *testing.T) {
	for name, data := range map[string][]byte{"Whole": []byte("precious bytes, check them"), "Streamed": large(4)} {
		t.Run(name, func(t *testing.T) {
			cl := newCluster(t, 2, meta.Options{})
			var logs lockedBuffer
			c := cl.client(client.Options{Log: slog.New(slog.NewTextHandler(&logs, nil))})
			v, err := c.Put(ctx, "k", bytes.NewReader(data))
			require.NoError(t, err)
			require.Empty(t, logs.String(), "a clean put logs nothing")
			bad := cl.Node(v.Replicas[0])
			bad.Corrupt(t, v.Hash)

			assert.Equal(t, data, read(t, c, "k", 0))
			cl.Meta().WaitReports()
			var lines []string
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, "bad copy found") {
					lines = append(lines, l)
				}
			}
			if assert.Len(t, lines, 1, "logs:\n%s", logs.String()) {
				assert.Contains(t, lines[0], "level=WARN")
				assert.Contains(t, lines[0], "addr="+bad.URL())
				assert.Contains(t, lines[0], "blob="+string(v.Hash.Short()))
			}
		})
	}
}
