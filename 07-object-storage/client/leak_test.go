package client_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/leaktest"
	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// leakCheck returns client options whose transport counts its open
// connections, and a check that, once every idle one is closed, none is
// left open and no goroutine is still in package client: an answer left
// unclosed holds its connection, and a goroutine left behind shows in
// the stacks. It waits for both with a deadline, since a transport
// closes a connection from a goroutine of its own.
func leakCheck() (client.Options, func(*testing.T)) {
	var open atomic.Int64
	tr := client.NewTransport()
	tr.DialContext = leaktest.CountingDial(&open)
	check := func(t *testing.T) {
		t.Helper()
		var stacks string
		deadline := time.Now().Add(5 * time.Second)
		for {
			tr.CloseIdleConnections()
			buf := make([]byte, 1<<20)
			stacks = string(buf[:runtime.Stack(buf, true)])
			busy := strings.Contains(stacks, "07-object-storage/client.")
			if (open.Load() == 0 && !busy) || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		assert.Zero(t, open.Load(), "connections left open")
		assert.NotContains(t, stacks, "07-object-storage/client.", "goroutines left in package client")
	}
	return client.Options{HTTP: &http.Client{Transport: tr}}, check
}

// A read cancelled mid-way, streamed or whole, and then closed leaves
// no connection open and no goroutine behind; so does one closed early.
func TestACancelledReadLeavesNothingBehind(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{})
	opt, check := leakCheck()
	opt.DataCacheBytes = -1
	c := cl.client(opt)
	data := large(11)
	_, err := c.Put(ctx, "big", bytes.NewReader(data))
	require.NoError(t, err)
	opt.MemoryLimit = 8 << 20 // above the object: read whole, into memory
	whole := cl.client(opt)

	for name, c := range map[string]*client.Client{"streamed": c, "whole": whole} {
		t.Run(name, func(t *testing.T) {
			rctx, cancel := context.WithCancel(ctx)
			o, err := c.Get(rctx, "big", 0)
			require.NoError(t, err)
			p := make([]byte, blob.ChunkSize+1)
			_, err = io.ReadFull(o, p)
			require.NoError(t, err)
			assert.Equal(t, data[:len(p)], p)
			cancel()
			_, err = io.ReadAll(o)
			if name == "streamed" {
				assert.ErrorIs(t, err, context.Canceled)
			}
			require.NoError(t, o.Close())
			check(t)

			o, err = c.Get(ctx, "big", 0)
			require.NoError(t, err)
			_, err = o.Read(p[:10])
			require.NoError(t, err)
			require.NoError(t, o.Close()) // before the end
			check(t)
		})
	}
}

// A write cancelled mid-body leaves no connection open and no goroutine
// behind, whether it spools (Put) or streams (PutStream).
func TestACancelledWriteLeavesNothingBehind(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{})
	opt, check := leakCheck()
	c := cl.client(opt)
	const size = 4 << 20
	for name, put := range map[string]func(context.Context, io.Reader) error{
		"Put": func(ctx context.Context, r io.Reader) error {
			_, err := c.Put(ctx, "k", r)
			return err
		},
		"PutStream": func(ctx context.Context, r io.Reader) error {
			_, err := c.PutStream(ctx, "k", r, size, blob.Sum(make([]byte, size)), client.PutOptions{})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			wctx, cancel := context.WithCancel(ctx)
			defer cancel()
			err := put(wctx, &endless{cancel: cancel, limit: size})
			assert.ErrorIs(t, err, context.Canceled)
			check(t)
		})
	}
}

// Puts, Gets and Deletes of one key through one client, at once, leave
// its metadata cache right: the client then reads its own last write,
// whatever lookups were under way when the others wrote.
func TestConcurrentWritesAndReadsOfOneKey(t *testing.T) {
	cl := newCluster(t, 3, meta.Options{})
	c := cl.client(client.Options{MetaCacheTTL: time.Hour})
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := range 20 {
				switch (g + i) % 3 {
				case 0:
					_, err := c.Put(ctx, "k", strings.NewReader(strconv.Itoa(g*100+i)))
					assert.NoError(t, err)
				case 1:
					if o, err := c.Get(ctx, "k", 0); err == nil {
						_, err = io.ReadAll(o)
						assert.NoError(t, err)
						o.Close()
					} else {
						assert.ErrorIs(t, err, meta.ErrNotFound)
					}
				case 2:
					if _, err := c.Delete(ctx, "k"); err != nil {
						assert.ErrorIs(t, err, meta.ErrNotFound, "deleted already")
					}
				}
			}
		})
	}
	wg.Wait()
	last, err := c.Put(ctx, "k", strings.NewReader("last"))
	require.NoError(t, err)
	v, err := c.Stat(ctx, "k", 0)
	require.NoError(t, err)
	assert.Equal(t, last.Number, v.Number, "the client did not read its own last write")
	assert.Equal(t, "last", string(read(t, c, "k", 0)))
}
