//go:build exercise

// The exercises of chapter 01. They fail until you have done them:
//
//	go test -tags exercise ./01-backends/backend -run TestExercise
package backend_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
)

// Exercise 1: GET /headers/{name} answers with the value of that request
// header and a newline, or a 404 (http.NotFound) if the request has none.
func TestExerciseHeaders(t *testing.T) {
	srv := httptest.NewServer(backend.New("A"))
	defer srv.Close()

	// Header names are case-insensitive: /headers/x-color asks for the
	// same header as /headers/X-Color (r.Header.Get canonicalizes the
	// name; indexing the map with it as written does not).
	for _, name := range []string{"X-Color", "x-color"} {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/headers/"+name, nil)
		require.NoError(t, err)
		req.Header.Set("X-Color", "teal")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		if resp.StatusCode == http.StatusNotFound {
			if name == "X-Color" {
				t.Fatalf("GET /headers/X-Color with X-Color: teal: 404 %q; has backend.New (backend/backend.go) a route for /headers/{name} yet?", body)
			}
			t.Errorf("GET /headers/%s with X-Color: teal: 404 %q; header names are case-insensitive: look the name up with r.Header.Get, which puts it in canonical form", name, body)
			continue
		}
		assert.Equal(t, http.StatusOK, resp.StatusCode, "GET /headers/%s with X-Color: teal: want 200", name)
		assert.Equal(t, "teal\n", string(body), "GET /headers/%s with X-Color: teal: want the header's value and a newline (r.Header.Get)", name)
	}

	resp, body2 := get(t, srv.URL+"/headers/X-Color")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "GET /headers/X-Color without the header: want 404")
	assert.Equal(t, "404 page not found\n", body2, "GET /headers/X-Color without the header: answer with http.NotFound(w, r)")
}
