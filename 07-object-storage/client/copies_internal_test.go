package client

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// copyBetweenServers counts a server this write stored the blob on only
// if it still answers for it with the blob's size; it asks each target
// to copy from the first holder, and from the next one only after a 502
// (the source did not serve it); any other refusal moves on to the next
// target.
func TestCopyBetweenServersTriesTheNextSourceOnlyAfterA502(t *testing.T) {
	h := blob.Sum([]byte("twelve bytes"))
	holder := func(size int) string { // a server whose copy's HEAD says size
		return server(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(size))
		})
	}
	good1, good2, short := holder(12), holder(12), holder(11)
	var mu sync.Mutex
	asked := map[string][]string{} // target -> the sources it was asked to copy from
	target := func(name string, answer func(from string) int) string {
		return server(t, func(w http.ResponseWriter, r *http.Request) {
			var p meta.Pull
			json.NewDecoder(r.Body).Decode(&p)
			mu.Lock()
			asked[name] = append(asked[name], p.From)
			mu.Unlock()
			w.WriteHeader(answer(p.From))
		})
	}
	full := target("full", func(string) int { return http.StatusInsufficientStorage })
	picky := target("picky", func(from string) int {
		if from == good1 {
			return http.StatusBadGateway
		}
		return http.StatusCreated
	})
	c := New(Options{MetaURL: "http://meta.invalid", Log: slog.New(slog.DiscardHandler)})

	p := meta.Placement{Replicas: 3, Quorum: 2, Targets: []string{good1, full, picky, good2}}
	stored, _ := c.copyBetweenServers(context.Background(), p, h, 12, []string{short, good1, good2})
	assert.Equal(t, []string{good1, good2, picky}, stored, "short's copy is not counted")
	assert.Equal(t, map[string][]string{"full": {good1}, "picky": {good1, good2}}, asked)
}
