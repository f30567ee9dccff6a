package client_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/meta"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

// pagingMeta answers GET /versions for a key of n versions, two a page
// whatever the limit asked, and records each after= it was sent; next
// is how it computes a page's Next (the right way when nil).
func pagingMeta(t *testing.T, n uint64, next func(after uint64) uint64) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.Query().Get("after"))
		mu.Unlock()
		after, _ := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
		l := meta.VersionList{Versions: []meta.Version{}}
		for num := after + 1; num <= n && num <= after+2; num++ {
			l.Versions = append(l.Versions, meta.Version{Key: "k", Number: num})
		}
		if after+2 < n {
			l.Next = after + 2
		}
		if next != nil {
			l.Next = next(after)
		}
		json.NewEncoder(w).Encode(l)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), asked...)
	}
}

// Versions gathers every page; a metadata server whose next page does
// not move forward is an error, not a loop.
func TestVersionsWalksThePages(t *testing.T) {
	srv, asked := pagingMeta(t, 5, nil)
	c := client.New(client.Options{MetaURL: srv.URL, Log: storetest.Quiet})
	vs, err := c.Versions(t.Context(), "k")
	require.NoError(t, err)
	var numbers []uint64
	for _, v := range vs {
		numbers = append(numbers, v.Number)
	}
	assert.Equal(t, []uint64{1, 2, 3, 4, 5}, numbers)
	assert.Equal(t, []string{"", "2", "4"}, asked())

	stuck, _ := pagingMeta(t, 5, func(after uint64) uint64 { return 2 })
	c = client.New(client.Options{MetaURL: stuck.URL, Log: storetest.Quiet})
	_, err = c.Versions(t.Context(), "k")
	assert.ErrorContains(t, err, "next page starts at 2, after 2")
}
