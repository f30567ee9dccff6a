package client_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// A write's retry is protected from GC by its own placement, not by the
// first one: here the content is garbage marked long ago (a version
// pruned past -keep, its copies still on two servers), the first commit
// is refused for a copy gone, and the retry comes more than the grace
// period after the first placement. A GC between the retry's placement
// and its commit deletes nothing: not the copy the first placement
// offered, nor the one the retry made (an upload for Put, a pull for
// PutStream). The write commits, and reads back from both.
func TestGCDuringACommitRetrySparesItsCopies(t *testing.T) {
	data := []byte(strings.Repeat("pruned once, written again; ", 4))
	h := blob.Sum(data)
	for _, how := range []string{"Put", "PutStream"} {
		t.Run(how, func(t *testing.T) {
			cl := newCluster(t, 4, meta.Options{Replicas: 2, Quorum: 2, KeepVersions: 1, GCGrace: time.Hour})
			setup := cl.client(client.Options{})
			_, err := setup.Put(ctx, "old", bytes.NewReader(data))
			require.NoError(t, err)
			_, err = setup.Put(ctx, "old", strings.NewReader("replaced"))
			require.NoError(t, err)
			rep, err := cl.Meta().GC(ctx)
			require.NoError(t, err)
			require.Equal(t, meta.GCReport{Pruned: 1, Garbage: 1}, rep, "the content is garbage, marked now")
			cl.Clock.Add(2 * time.Hour) // past its grace period: only a placement protects it
			cl.Beat()

			var gcDuringRetry meta.GCReport
			hook := &metaHook{base: client.NewTransport()}
			hook.beforeCommit = func(n int) {
				switch n {
				case 1:
					cl.killHolder(h)
					cl.Clock.Add(61 * time.Minute) // the first placement is past the grace period
					cl.Beat()
				case 2:
					rep, err := cl.Meta().GC(ctx)
					require.NoError(t, err)
					gcDuringRetry = rep
				}
			}
			c := cl.client(client.Options{HTTP: &http.Client{Transport: hook}, MemoryLimit: 4})
			var v meta.Version
			if how == "Put" {
				v, err = c.Put(ctx, "k", bytes.NewReader(data))
			} else {
				v, err = c.PutStream(ctx, "k", bytes.NewReader(data), int64(len(data)), h, client.PutOptions{})
			}
			require.NoError(t, err)
			assert.Equal(t, int32(2), hook.commits.Load(), "commits")
			assert.Zero(t, gcDuringRetry.Deleted, "GC deleted a blob between the retry's placement and its commit")
			var intact []string // the dead server's copy stays on record, listed last
			for _, addr := range v.Replicas {
				if n := cl.Node(addr); !n.Down && n.Intact(h) {
					intact = append(intact, addr)
				}
			}
			assert.Len(t, intact, 2, "intact copies on live servers")
			assert.Equal(t, data, read(t, c, "k", 0))
		})
	}
}
