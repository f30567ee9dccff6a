package middleware_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/06-middleware/middleware/bodytest"
)

// A client that stops sending its body gets 408 on a closed connection,
// whatever the handler then answers: a proxy's 502 for a body that broke,
// or nothing at all.
func TestBodyTimeoutIs408(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{
		"handler answers 502": func(w http.ResponseWriter, r *http.Request) {
			if _, err := io.ReadAll(r.Body); err != nil {
				assert.ErrorIs(t, err, middleware.ErrBodyTimeout)
				http.Error(w, "bad gateway: "+err.Error(), http.StatusBadGateway)
				return
			}
			w.WriteHeader(http.StatusCreated)
		},
		"handler answers nothing": func(w http.ResponseWriter, r *http.Request) { io.ReadAll(r.Body) },
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(middleware.BodyTimeout(50 * time.Millisecond)(h))
			t.Cleanup(srv.Close)
			resp := bodytest.StalledPut(t, srv.URL, "/upload", "", make([]byte, 1000), 100)
			body, _ := io.ReadAll(resp.Body)
			assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode, string(body))
			assert.True(t, resp.Close, "the rest of the body will not be read")
			assert.Contains(t, string(body), "request body timeout")
		})
	}
}

// A body that arrives is passed on as it is, and a request without one
// is served as it is.
func TestBodyTimeoutPassesWholeBodies(t *testing.T) {
	srv := httptest.NewServer(middleware.BodyTimeout(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		assert.NoError(t, err)
		fmt.Fprintf(w, "%d bytes", len(b))
	})))
	t.Cleanup(srv.Close)
	resp, err := http.Post(srv.URL, "text/plain", strings.NewReader(strings.Repeat("y", 5000)))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "5000 bytes", string(body))

	resp, err = http.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}
