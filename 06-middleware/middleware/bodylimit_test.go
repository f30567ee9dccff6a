package middleware_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/middleware"
)

// readAll is a handler that reads the whole body, as a proxy does, and
// reports how many bytes it got.
type readAll struct{ n int64 }

func (h *readAll) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n, err := io.Copy(io.Discard, r.Body)
	h.n = n
	if err != nil {
		http.Error(w, "bad gateway: "+err.Error(), http.StatusBadGateway) // what a proxy would answer
		return
	}
	io.WriteString(w, "stored")
}

const tooLarge = "content too large: the limit is 10 bytes\n"

func TestMaxBodyDeclaredLength(t *testing.T) {
	next := &readAll{}
	h := middleware.MaxBody(10)(next)

	rec := do(h, httptest.NewRequest("POST", "/", strings.NewReader("0123456789A")))
	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	assert.Equal(t, tooLarge, rec.Body.String())
	assert.Zero(t, next.n, "the handler must not see an oversized body")

	rec = do(h, httptest.NewRequest("POST", "/", strings.NewReader("0123456789")))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, int64(10), next.n)
}

func TestMaxBodyChunked(t *testing.T) {
	next := &readAll{}
	srv := httptest.NewServer(middleware.MaxBody(10)(next))
	defer srv.Close()

	for _, tc := range []struct {
		body string
		code int
	}{{"0123456789ABCDEF", 413}, {"0123", 200}} {
		// An io.Reader of unknown length: the client sends it chunked.
		req, err := http.NewRequest("POST", srv.URL, io.MultiReader(strings.NewReader(tc.body)))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, tc.code, resp.StatusCode, string(body))
		if tc.code == 413 {
			assert.Equal(t, tooLarge, string(body))
			assert.LessOrEqual(t, next.n, int64(10), "the handler read past the limit")
		}
	}
}

func TestMaxBodyHandlerSeesMaxBytesError(t *testing.T) {
	var err error
	h := middleware.MaxBody(4)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err = io.ReadAll(r.Body)
	}))
	req := httptest.NewRequest("POST", "/", io.MultiReader(bytes.NewReader(make([]byte, 100))))
	req.ContentLength = -1
	rec := do(h, req)
	var tooBig *http.MaxBytesError
	assert.True(t, errors.As(err, &tooBig), "a proxy can recognise the error: %v", err)
	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
}

// The 413 that replaces a handler's answer keeps the header fields set
// further out (a request id) and drops the handler's: an upstream's
// cookie or caching rules have no place on a refusal.
func TestMaxBodyRefusalDropsTheHandlersHeader(t *testing.T) {
	h := middleware.MaxBody(4)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		w.Header().Set("Set-Cookie", "session=abc")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		http.Error(w, err.Error(), http.StatusBadGateway)
	}))
	req := httptest.NewRequest("POST", "/", io.MultiReader(bytes.NewReader(make([]byte, 100))))
	req.ContentLength = -1
	rec := httptest.NewRecorder()
	rec.Header().Set("X-Request-Id", "abc-123") // as RequestID, further out, sets it
	h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	assert.Equal(t, "abc-123", rec.Header().Get("X-Request-Id"))
	assert.Empty(t, rec.Header().Values("Set-Cookie"))
	assert.Empty(t, rec.Header().Values("Cache-Control"))
	assert.Equal(t, "close", rec.Header().Get("Connection"))
}

// A body read by another goroutine (a proxy's transport) while the
// handler answers: the limit's mark is shared without a data race (run
// with -race, as CI does).
func TestMaxBodyWithTheBodyReadElsewhere(t *testing.T) {
	h := middleware.MaxBody(10)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			io.ReadAll(r.Body)
		}()
		w.WriteHeader(http.StatusBadGateway)
		<-done
	}))
	req := httptest.NewRequest(http.MethodPut, "/", io.NopCloser(strings.NewReader(strings.Repeat("x", 100))))
	req.ContentLength = -1 // chunked: cut where it passes the limit
	h.ServeHTTP(httptest.NewRecorder(), req)
}

// TestMaxBodyChunkedPassesFullDuplexAndHijackOn: for a chunked body the
// layer wraps the writer, and the handler can still turn full duplex on
// (reading the body while it answers) or take the connection over.
func TestMaxBodyChunkedPassesFullDuplexAndHijackOn(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{
		"full duplex": func(w http.ResponseWriter, r *http.Request) {
			if err := http.NewResponseController(w).EnableFullDuplex(); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			io.Copy(w, r.Body)
		},
		"hijack": func(w http.ResponseWriter, r *http.Request) {
			conn, rw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			defer conn.Close()
			io.WriteString(rw, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\n0123")
			rw.Flush()
			// Close gently: stop writing (CloseWrite), then read what the
			// client still sends (its body) until it closes. Closing at
			// once, with its body unread or still on the way, would break
			// the client's write, and it would report that instead of the
			// answer. (net/http's own close is similar: a half-close, then
			// a short wait.)
			if cw, ok := conn.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
				io.Copy(io.Discard, rw)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(middleware.MaxBody(10)(h))
			defer srv.Close()
			srv.Config.ErrorLog = log.New(io.Discard, "", 0)
			// A bound for a broken layer, which could leave a hijacked
			// connection open with nothing written: never reached otherwise.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			// An io.Reader of unknown length: the client sends it chunked.
			req, err := http.NewRequestWithContext(ctx, "POST", srv.URL, io.MultiReader(strings.NewReader("0123")))
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "0123", string(body))
		})
	}
}
