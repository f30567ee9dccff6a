package middleware_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/06-middleware/middleware"
)

// seen records the id the handler (the upstream's side) saw.
func seen(upstream *string, record *string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*upstream = r.Header.Get(middleware.HeaderRequestID)
		*record = middleware.RecordFrom(r.Context()).ID
	})
}

func TestRequestID(t *testing.T) {
	cases := []struct {
		name, incoming, want string
	}{
		{"none: a new one", "", "id-1"},
		{"well formed: kept", "7f3c9a1e-client-id", "7f3c9a1e-client-id"},
		{"a UUID: kept", "123e4567-e89b-12d3-a456-426614174000", "123e4567-e89b-12d3-a456-426614174000"},
		{"spaces: replaced", "two words", "id-1"},
		{"log injection: replaced", "x\nlevel=ERROR msg=forged", "id-1"},
		{"markup: replaced", "<script>", "id-1"},
		{"non-ASCII: replaced", "ïd", "id-1"},
		{"too long: replaced", strings.Repeat("a", middleware.MaxIDLength+1), "id-1"},
		{"longest allowed: kept", strings.Repeat("a", middleware.MaxIDLength), strings.Repeat("a", middleware.MaxIDLength)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var upstream, record string
			h := middleware.RequestID(ids())(seen(&upstream, &record))
			req, _ := http.NewRequest("GET", "http://gw/", nil)
			if tc.incoming != "" {
				req.Header[middleware.HeaderRequestID] = []string{tc.incoming}
			}
			rec := do(h, req)
			assert.Equal(t, tc.want, upstream, "the id sent upstream")
			assert.Equal(t, tc.want, record, "the id in the Record")
			assert.Equal(t, tc.want, rec.Header().Get(middleware.HeaderRequestID), "the id sent back")
		})
	}
}

func TestNewIDIsWellFormedAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := middleware.NewID()
		assert.True(t, middleware.ValidID(id), id)
		assert.False(t, seen[id], "id %s came twice", id)
		seen[id] = true
	}
}

// The response's id is set as the header goes out, not before: a layer
// further in gets an empty header, so that a proxy there has nothing of
// the gateway's to keep across a 1xx (chapter 03's keepingWriter, a copy
// of the header per request). The answer still carries the id, written,
// flushed, or left to net/http by a handler that writes nothing.
func TestRequestIDLeavesTheHeaderEmptyForTheLayersFurtherIn(t *testing.T) {
	for name, answer := range map[string]func(w http.ResponseWriter){
		"writes":         func(w http.ResponseWriter) { w.Write([]byte("ok")) },
		"flushes":        func(w http.ResponseWriter) { http.NewResponseController(w).Flush() },
		"writes nothing": func(w http.ResponseWriter) {},
	} {
		t.Run(name, func(t *testing.T) {
			var fields int
			h := middleware.RequestID(ids())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fields = len(w.Header())
				answer(w)
			}))
			rec := get(h, "/")
			assert.Zero(t, fields, "header fields set before the handler ran")
			assert.Equal(t, []string{"id-1"}, rec.Result().Header[middleware.HeaderRequestID], "the id sent back")
		})
	}
}

// A 101 written with WriteHeader is the final answer (net/http sends it
// as it sends a 200, and keeps no 1xx apart for it), so it carries the id
// as any answer does. The handler takes the connection over after the
// 101, as a handler that switches protocols itself does: the id must be
// in the header by then, not set when the handler returns.
func TestRequestIDIsOnA101WrittenWithWriteHeader(t *testing.T) {
	resp := serveOnce(t, middleware.RequestID(ids())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusSwitchingProtocols)
		conn, _, err := http.NewResponseController(w).Hijack() // sends the 101
		if err == nil {
			conn.Close()
		}
	})), new(logBuffer))
	assert.Equal(t, []string{"id-1"}, resp.Header[middleware.HeaderRequestID], "the id sent back")
}

// TestValidIDAcceptsExactlyItsAlphabet: letters, digits, '-', '_' and
// '.', from 1 to MaxIDLength of them; the bytes either side of each range
// are refused.
func TestValidIDAcceptsExactlyItsAlphabet(t *testing.T) {
	for _, id := range []string{"a", "z", "A", "Z", "0", "9", "-", "_", ".", strings.Repeat("x", middleware.MaxIDLength)} {
		assert.True(t, middleware.ValidID(id), "%q", id)
	}
	for _, id := range []string{"", "`", "{", "@", "[", "/", ":", " ", "a b", "é", strings.Repeat("x", middleware.MaxIDLength+1)} {
		assert.False(t, middleware.ValidID(id), "%q", id)
	}
}
