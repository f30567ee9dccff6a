package rewrite

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
)

// answering is a transport that answers every request with an empty 204,
// without a network, so that what a proxy allocates is all its own.
type answering struct{ host string }

func (a *answering) RoundTrip(r *http.Request) (*http.Response, error) {
	a.host = r.URL.Host
	return &http.Response{StatusCode: http.StatusNoContent, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
}

// New's target is the same for every request, so it does not travel to
// Rewrite in the request's context as a picked one does: a request through
// New's proxy costs two allocations fewer (the context value and the copy
// of the request) than through a Picker that always returns the target.
func TestNewCarriesItsTargetWithoutTheContext(t *testing.T) {
	target := &url.URL{Scheme: "http", Host: "backend.example"}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	allocs := func(p *Proxy, tr *answering) float64 {
		w := &discard{h: http.Header{}}
		n := testing.AllocsPerRun(100, func() { clear(w.h); p.ServeHTTP(w, req) })
		assert.Equal(t, target.Host, tr.host, "the request went to the target")
		return n
	}
	fixed, picking := &answering{}, &answering{}
	got := allocs(New(target, Options{Transport: fixed}), fixed)
	want := allocs(NewPicking(func(*http.Request) (*url.URL, error) { return target, nil }, Options{Transport: picking}), picking) - 2
	assert.LessOrEqual(t, got, want, "allocations a request through New's proxy")
}

// TestNoTargetAndNoPickerPanicAtOnce: a proxy with nowhere to send
// requests is a programming error, caught when it is built, not by a panic
// in every request it serves.
func TestNoTargetAndNoPickerPanicAtOnce(t *testing.T) {
	assert.PanicsWithValue(t, "rewrite.New: nil target", func() { New(nil, Options{}) })
	assert.PanicsWithValue(t, "rewrite.NewPicking: nil Picker", func() { NewPicking(nil, Options{}) })
}

// Header and ResponseHeader fields net/http cannot send are refused when
// the proxy is built: a name that is not a token failed every request in
// the transport, a 502 that blamed the backend, and a value with a line
// break could split the header.
func TestBadFieldsInTheOptionsPanicAtOnce(t *testing.T) {
	target := &url.URL{Scheme: "http", Host: "backend"}
	assert.PanicsWithValue(t, `rewrite: Options.Header: "X Gateway" is not a header field name`,
		func() { New(target, Options{Header: http.Header{"X Gateway": {"1"}}}) })
	assert.PanicsWithValue(t, `rewrite: Options.ResponseHeader: "X-Proxy:" is not a header field name`,
		func() { New(target, Options{ResponseHeader: http.Header{"X-Proxy:": {"1"}}}) })
	for _, v := range []string{"1\r\nX-Admin: yes", "1\x00", "1\x01", "1\x7f"} {
		assert.PanicsWithValue(t, "rewrite: Options.Header: the value of X-Gateway holds a control character (CR, LF, NUL, DEL, ...)",
			func() { New(target, Options{Header: http.Header{"X-Gateway": {v}}}) }, "%q", v)
	}
	assert.PanicsWithValue(t, `rewrite: Options.ResponseHeader: "" is not a header field name`,
		func() {
			NewPicking(func(*http.Request) (*url.URL, error) { return target, nil }, Options{ResponseHeader: http.Header{"": {"1"}}})
		})
	assert.NotPanics(t, func() {
		New(target, Options{Header: http.Header{"x-gateway": {"03"}, "X-A.b_c~1": {""}}, ResponseHeader: http.Header{"X-Proxy": {"a,\tb é"}}})
	})
}
