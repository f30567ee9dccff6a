package api_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/deadaddr"
	"github.com/gocourse/gateway/07-object-storage/api"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

// lockedBuffer is a log destination the handler writes and the test reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A server-side failure is told to the client in a fixed sentence; its
// detail, which can name a database file or an internal address, goes to
// the API server's log, with the request id the gateway gave the request.
func TestServerErrorsHideTheirDetail(t *testing.T) {
	const secret = "open /srv/secret/meta.db: bbolt: database not open"
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, secret, http.StatusInternalServerError)
	}))
	defer broken.Close()
	gone := deadaddr.New(t)

	for _, tc := range []struct {
		name, metaURL string
		status        int
		want, hidden  string
	}{
		{"a metadata server's 500", broken.URL, http.StatusInternalServerError, "internal server error", "/srv/secret"},
		{"an unreachable metadata server", "http://" + gone, http.StatusBadGateway, "metadata server unreachable", gone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs lockedBuffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			srv := httptest.NewServer(api.New(client.New(client.Options{MetaURL: tc.metaURL, Log: log}), 1024, log))
			defer srv.Close()
			for _, rq := range []struct{ method, path string }{
				{http.MethodGet, "/objects/k"}, {http.MethodHead, "/objects/k"}, {http.MethodPut, "/objects/k"},
				{http.MethodDelete, "/objects/k"}, {http.MethodGet, "/objects?prefix=k"}, {http.MethodGet, "/versions/k"},
			} {
				req, err := http.NewRequest(rq.method, srv.URL+rq.path, strings.NewReader("v"))
				require.NoError(t, err)
				req.Header.Set("X-Request-Id", "req-"+rq.method)
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				what := rq.method + " " + rq.path
				assert.Equal(t, tc.status, resp.StatusCode, what)
				assert.NotContains(t, string(body), tc.hidden, what)
				if rq.method != http.MethodHead {
					assert.Equal(t, tc.want+"\n", string(body), what)
				}
			}
			assert.Contains(t, logs.String(), tc.hidden, "the detail is in the log")
			assert.Contains(t, logs.String(), "request_id=req-PUT", "with the request's id")
		})
	}
}

// A request whose deadline runs out while the store works is a 504, not
// a 500 or the 502 of an unreachable metadata server: here the deadline
// has passed before the handler starts, so every call it makes fails.
// Its body says so in words of the API's own, not package context's
// ("context deadline exceeded").
func TestADeadlineThatRunsOutIs504(t *testing.T) {
	f := newAPI(t)
	resp, _ := f.do(t, http.MethodPut, "/objects/k", strings.NewReader("v"))
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	h := api.New(client.New(client.Options{MetaURL: f.MetaURL, Log: storetest.Quiet}), 1024, storetest.Quiet)
	ctx, cancel := context.WithDeadline(t.Context(), time.Unix(0, 0))
	defer cancel()
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, method, "/objects/k", strings.NewReader("w")))
		assert.Equal(t, http.StatusGatewayTimeout, rec.Code, method)
		assert.Equal(t, "deadline exceeded: the request's time ran out while the store worked\n", rec.Body.String(), method)
	}
}
