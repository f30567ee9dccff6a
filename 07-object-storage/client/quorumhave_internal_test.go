package client

import (
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/meta"
)

// A write whose placement says W servers hold the blob already (R = 3,
// W = 2: a blob stored before, that has lost a copy since) uploads only
// the copy missing, and that upload is beyond W from its start: the
// grace runs from the start (Put) or from the body's end (PutStream),
// not from a W-th copy this write never makes. One to a server that
// takes the body and never answers is cut short, the write commits the
// two copies it had, tries no further server, logs no failure, and
// leaves nothing behind. Both ways of putting.
func TestAWriteThatHasWCopiesAlreadyDoesNotWaitForAServerThatHangs(t *testing.T) {
	for name, tc := range quorumWays() {
		t.Run(name, func(t *testing.T) {
			var spare atomic.Int32
			had1, had2 := goodServer(t, nil), goodServer(t, nil)
			silent, open := silentServer(t)
			var warned warnings
			opt := tc.opt
			opt.Log = warned.logger()
			c, graces := quorumClientHaving(t, []string{had1, had2},
				[]string{had1, had2, silent, goodServer(t, &spare)}, opt)
			done := make(chan putResult, 1)
			go func() {
				v, err := tc.put(c)
				done <- putResult{v, err}
			}()
			grace := waitFor(t, graces) // the write has W copies already
			r := expireUntilDone(t, grace, done)
			require.NoError(t, r.err)
			assert.ElementsMatch(t, []string{had1, had2}, r.v.Replicas)
			assert.True(t, grace.stopped.Load(), "the grace still runs")
			assert.Zero(t, spare.Load(), "uploaded to a further server for a copy beyond W")
			assert.Empty(t, warned.String(), "the upload cut short is logged as a failure")
			nothingLeft(t, c, open)
		})
	}
}

// With R = W no upload is beyond W: the grace never starts, and a write
// waits for its last upload however long its server takes to answer
// (here, past what would be the end of a grace). Both ways of putting.
func TestAWriteWithRAsWWaitsForEveryUpload(t *testing.T) {
	for name, tc := range quorumWays() {
		t.Run(name, func(t *testing.T) {
			good := goodServer(t, nil)
			slow, start, took, answer := slowServer(t)
			close(start)
			c, graces := placingClient(t, meta.Placement{Targets: []string{good, slow}, Replicas: 2, Quorum: 2}, tc.opt)
			done := make(chan putResult, 1)
			go func() {
				v, err := tc.put(c)
				done <- putResult{v, err}
			}()
			waitFor(t, took) // the slow server has the body, and waits to answer
			select {
			case g := <-graces:
				t.Fatalf("a grace started at R = W (expired: %v)", g.expire())
			case r := <-done:
				t.Fatalf("the write ended before its last upload: %v", r.err)
			default:
			}
			close(answer)
			r := waitFor(t, done)
			require.NoError(t, r.err)
			assert.ElementsMatch(t, []string{good, slow}, r.v.Replicas)
			assert.Empty(t, graces, "a grace started at R = W")
		})
	}
}
