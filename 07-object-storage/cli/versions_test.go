package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
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
