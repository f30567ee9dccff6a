package meta_test

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/meta"
)

// A recorded copy missing from a server's inventory is forgotten only
// if a HEAD says it is gone: a HEAD that gets no answer (a timeout, a
// dropped connection) or an error (500) says nothing about the copy.
func TestRepairKeepsACopyAHeadCouldNotCheck(t *testing.T) {
	for _, how := range []string{"no answer", "500"} {
		t.Run(how, func(t *testing.T) {
			var mu sync.Mutex
			failHost := ""
			failHead := roundTripFunc(func(req *http.Request) (*http.Response, error) {
				mu.Lock()
				fail := req.Method == http.MethodHead && req.URL.Host == failHost
				mu.Unlock()
				switch {
				case fail && how == "500":
					return &http.Response{StatusCode: http.StatusInternalServerError, Body: http.NoBody, Request: req}, nil
				case fail:
					return nil, errors.New("connection reset")
				}
				return http.DefaultTransport.RoundTrip(req)
			})
			hide := &unlisted{next: failHead}
			cl, c := store(t, 3, meta.Options{Client: &http.Client{Transport: hide}})
			v, err := c.Put(bg, "k", strings.NewReader("listed too late"))
			require.NoError(t, err)
			holder := cl.Node(v.Replicas[0])
			hide.set(host(holder), v.Hash)
			mu.Lock()
			failHost = host(holder)
			mu.Unlock()

			rep := round(t, cl)
			assert.Zero(t, rep.Dropped, "a copy still on its server was forgotten")
			assert.Zero(t, rep.Copied, "a third copy made")
			assert.True(t, recorded(t, cl, v.Hash, holder))
		})
	}
}

// Nor is such a copy trimmed, when it is surplus: the round has seen no
// stamp for it, and a plain DELETE carried out late could remove it
// after a commit counted it. A later round trims it, fenced.
func TestTrimSkipsACopyAHeadCouldNotCheck(t *testing.T) {
	var mu sync.Mutex
	failHost := ""
	failHead := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		mu.Lock()
		fail := req.Method == http.MethodHead && req.URL.Host == failHost
		mu.Unlock()
		if fail {
			return nil, errors.New("connection reset")
		}
		return http.DefaultTransport.RoundTrip(req)
	})
	watch := &stampWatch{verified: map[string]string{}, next: failHead}
	hide := &unlisted{next: watch}
	cl, _, placer, v, _ := surplus(t, hide)
	victim := cl.Node(v.Replicas[0])
	placer.setLast(victim.Store.ID())
	hide.set(host(victim), v.Hash)
	mu.Lock()
	failHost = host(victim)
	mu.Unlock()
	watch.mu.Lock()
	watch.hash = v.Hash
	watch.mu.Unlock()

	rep := round(t, cl)
	assert.Equal(t, 1, rep.Adopted)
	assert.Zero(t, rep.Trimmed)
	watch.mu.Lock()
	assert.Empty(t, watch.deletes, "a DELETE sent for a copy whose stamp the round never saw")
	watch.mu.Unlock()
	assert.True(t, victim.Has(v.Hash))
	assert.True(t, recorded(t, cl, v.Hash, victim))

	mu.Lock()
	failHost = ""
	mu.Unlock()
	rep = round(t, cl)
	assert.Equal(t, 1, rep.Trimmed, "trimmed by the next round")
	assert.Len(t, intact(t, cl, v.Hash), 2)
}
