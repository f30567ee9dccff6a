package dataserver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

// Two Scrubs that send the same unsent reports at once (Scrub is
// exported; nothing stops a program from calling it while
// RunMaintenance runs) must each leave the list consistent: the one that
// finishes second must not cut the list by a length the first has
// already shortened (it panicked with "slice bounds out of range").
func TestConcurrentReportSendsKeepTheListConsistent(t *testing.T) {
	var (
		bads    atomic.Int32
		arrived = make(chan struct{}, 2)
		release = make(chan struct{})
	)
	metaSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if bads.Add(1) == 1 {
			arrived <- struct{}{}
			<-release // the first report waits until the second is sent
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer metaSrv.Close()
	store, err := blob.OpenDisk(t.TempDir())
	require.NoError(t, err)
	s := New(Options{Store: store, MetaURL: metaSrv.URL, Addr: "http://127.0.0.1:1"})
	h := blob.Sum([]byte("damaged"))
	s.unsent = []blob.Hash{h}

	var wg sync.WaitGroup
	unsent := make([]int, 2)
	panics := make([]any, 2)
	send := func(i int) {
		defer func() { panics[i] = recover() }()
		unsent[i] = s.sendReports(context.Background())
	}
	wg.Go(func() { send(0) })
	<-arrived // the first is being sent; the second sends the same list
	wg.Go(func() {
		defer close(release)
		send(1)
	})
	wg.Wait()
	for i, p := range panics {
		assert.Nil(t, p, fmt.Sprintf("send %d panicked", i))
	}
	assert.Equal(t, []int{0, 0}, unsent)
	assert.Empty(t, s.unsent)
	assert.Equal(t, int32(2), bads.Load(), "reports sent")
}
