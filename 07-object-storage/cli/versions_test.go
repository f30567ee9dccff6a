package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// versions prints every page of a key's versions, in order: here a
// metadata server that answers two versions a page, five in all.
func TestVersionsPrintsEveryPage(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/versions" {
			http.NotFound(w, r)
			return
		}
		after, _ := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
		l := meta.VersionList{Versions: []meta.Version{}}
		for n := after + 1; n <= 5 && n <= after+2; n++ {
			l.Versions = append(l.Versions, meta.Version{Key: "k", Number: n, Size: int64(n), Hash: blob.Sum([]byte{byte(n)}), Created: created})
		}
		if after+2 < 5 {
			l.Next = after + 2
		}
		json.NewEncoder(w).Encode(l)
	}))
	defer srv.Close()

	r := cliContext(context.Background(), srv.URL, nil, "versions", "k")
	require.Equal(t, 0, r.code, r.stderr)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	require.Len(t, lines, 5, r.stdout)
	for i, line := range lines {
		assert.True(t, strings.HasPrefix(line, "   "+strconv.Itoa(i+1)+" "), "line %d: %q", i+1, line)
	}
}

// A metadata server whose next page does not go forward would have the
// tool print a short list and succeed (versions), or print one page for
// ever (ls): both are an error, exit status 1.
func TestPagesThatGoBackAreAnError(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) > 10 { // a tool that does not notice stops here
			http.Error(w, "too many calls", http.StatusInternalServerError)
			return
		}
		v := meta.Version{Key: "k", Number: 1, Size: 1, Hash: blob.Sum([]byte{1}), Created: created}
		switch r.URL.Path {
		case "/versions": // always version 1, and "go on after 1"
			json.NewEncoder(w).Encode(meta.VersionList{Versions: []meta.Version{v}, Next: 1})
		case "/keys": // always k, and "go on after k"
			json.NewEncoder(w).Encode(meta.Listing{Objects: []meta.Version{v}, Next: "k"})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	for _, args := range [][]string{{"versions", "k"}, {"ls"}} {
		calls.Store(0)
		r := cliContext(context.Background(), srv.URL, nil, args...)
		assert.Equal(t, 1, r.code, "%q: %s", args, r.stderr)
		assert.Contains(t, r.stderr, "goes back", args)
		assert.LessOrEqual(t, strings.Count(r.stdout, "\n"), 2, "%q printed a page again", args)
	}
}
