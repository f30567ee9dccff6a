package rewrite

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hopCounter is a backend that answers every request with the
// Max-Forwards lines it got, joined by "|" (or "none"), and counts them.
func hopCounter(t *testing.T, hits *atomic.Int32) *url.URL {
	t.Helper()
	return startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		vv, ok := r.Header["Max-Forwards"]
		if !ok {
			io.WriteString(w, "none")
			return
		}
		io.WriteString(w, strings.Join(vv, "|"))
	}))
}

// sendMaxForwards sends method to rawURL with the Max-Forwards lines mf (none if
// nil) and the extra header, and returns the response with its body read.
func sendMaxForwards(t *testing.T, method, rawURL string, mf []string, extra http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	require.NoError(t, err)
	for k, v := range extra {
		req.Header[k] = v
	}
	if mf != nil {
		req.Header["Max-Forwards"] = mf
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

// An OPTIONS or TRACE with Max-Forwards: 0 must not be forwarded; the
// proxy answers it as the final recipient (RFC 9110, section 7.6.2):
// OPTIONS with an empty 200, TRACE with a 501 that echoes nothing the
// client sent. No backend is picked, and none sees the request.
func TestMaxForwardsZeroIsAnsweredByTheProxy(t *testing.T) {
	var hits, picks atomic.Int32
	target := hopCounter(t, &hits)
	proxies := map[string]*Proxy{
		"New": New(target, Options{}),
		"NewPicking": NewPicking(func(*http.Request) (*url.URL, error) {
			picks.Add(1)
			return target, nil
		}, Options{}),
	}
	secrets := http.Header{"Cookie": {"session=s3cret"}, "Authorization": {"Bearer t0ken"}}
	for name, p := range proxies {
		base := startProxy(t, p)
		for _, mf := range []string{"0", "00"} {
			resp, body := sendMaxForwards(t, http.MethodOptions, base+"/api/users", []string{mf}, nil)
			assert.Equal(t, http.StatusOK, resp.StatusCode, "%s: OPTIONS, Max-Forwards: %s", name, mf)
			assert.Equal(t, []string{"0"}, resp.Header["Content-Length"], "%s: OPTIONS, Max-Forwards: %s", name, mf)
			assert.Empty(t, body, "%s: OPTIONS, Max-Forwards: %s", name, mf)
			assert.Empty(t, resp.Header.Get("Allow"), "%s: the proxy knows no resource's methods", name)

			resp, body = sendMaxForwards(t, http.MethodTrace, base+"/api/users", []string{mf}, secrets)
			assert.Equal(t, http.StatusNotImplemented, resp.StatusCode, "%s: TRACE, Max-Forwards: %s: %s", name, mf, body)
			assert.Contains(t, body, "not implemented: TRACE", name)
			assert.NotContains(t, body, "s3cret", name)
			assert.NotContains(t, body, "t0ken", name)
		}
	}
	assert.Zero(t, hits.Load(), "requests that reached the backend")
	assert.Zero(t, picks.Load(), "backends picked")
}

// Above 0, an OPTIONS or TRACE goes on with Max-Forwards one less (or the
// largest value the proxy supports, if that is less). A value that is not
// 1*DIGIT is not a Max-Forwards: it goes on as it came, as through a
// proxy that does not implement the field. Other methods keep theirs: a
// recipient MAY ignore it (RFC 9110, section 7.6.2), and this one does.
func TestMaxForwardsIsDecrementedOnTheWay(t *testing.T) {
	var hits atomic.Int32
	base := startProxy(t, New(hopCounter(t, &hits), Options{}))
	for _, c := range []struct {
		method string
		sent   []string // nil: no Max-Forwards
		want   string   // what the backend got
	}{
		{http.MethodOptions, []string{"2"}, "1"},
		{http.MethodOptions, []string{"1"}, "0"},
		{http.MethodTrace, []string{"5"}, "4"},
		{http.MethodOptions, []string{"010"}, "9"},
		{http.MethodOptions, []string{"2147483648"}, "2147483647"},
		{http.MethodOptions, []string{"99999999999999999999999"}, "2147483647"},
		// 2^63 and 2^64: read into an int64 without a bound, they wrap to
		// a negative number (passed on as sent) and to 0 (answered here).
		{http.MethodOptions, []string{"9223372036854775808"}, "2147483647"},
		{http.MethodTrace, []string{"18446744073709551616"}, "2147483647"},
		{http.MethodOptions, nil, "none"},
		// Not a Max-Forwards: passed on as sent.
		{http.MethodOptions, []string{"-1"}, "-1"},
		{http.MethodOptions, []string{"+1"}, "+1"},
		{http.MethodOptions, []string{"1.5"}, "1.5"},
		{http.MethodOptions, []string{"1, 0"}, "1, 0"},
		{http.MethodOptions, []string{"0", "0"}, "0|0"},
		{http.MethodOptions, []string{""}, ""},
		{http.MethodTrace, []string{"zero"}, "zero"},
		// Other methods: ignored, passed on as sent.
		{http.MethodGet, []string{"0"}, "0"},
		{http.MethodGet, []string{"3"}, "3"},
		{http.MethodPost, []string{"0"}, "0"},
		{"options", []string{"0"}, "0"}, // methods are case-sensitive (section 9.1)
	} {
		before := hits.Load()
		resp, body := sendMaxForwards(t, c.method, base+"/", c.sent, nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s with %q", c.method, c.sent)
		if diff := cmp.Diff(c.want, body); diff != "" {
			t.Errorf("%s with Max-Forwards %q: what the backend got (-want +got):\n%s", c.method, c.sent, diff)
		}
		assert.Equal(t, before+1, hits.Load(), "%s with %q reached the backend once", c.method, c.sent)
	}
}

// Reading Max-Forwards allocates nothing, and a GET or POST with the
// field costs what one with another field does: the rule is paid for by
// OPTIONS and TRACE only, with the slice that holds the new value.
func TestMaxForwardsCostsOtherMethodsNothing(t *testing.T) {
	h := http.Header{"Max-Forwards": {"99999999999999999999999"}}
	assert.Zero(t, testing.AllocsPerRun(100, func() { maxForwards(h) }))

	tr := &answering{}
	p := New(&url.URL{Scheme: "http", Host: "backend.example"}, Options{Transport: tr})
	w := &discard{h: http.Header{}}
	allocs := func(method string, field string) float64 {
		req := httptest.NewRequest(method, "/", nil)
		req.Header.Set(field, "3") // one field either way: the clone of the header costs the same
		return testing.AllocsPerRun(100, func() { clear(w.h); p.ServeHTTP(w, req) })
	}
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		assert.Equal(t, allocs(method, "X-Other"), allocs(method, "Max-Forwards"), "%s: allocations with Max-Forwards: 3 and with another field", method)
	}
	assert.Equal(t, allocs(http.MethodOptions, "X-Other")+1, allocs(http.MethodOptions, "Max-Forwards"),
		"OPTIONS: one allocation for the decremented value")
}
