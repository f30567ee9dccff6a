package middleware_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/06-middleware/middleware"
)

func corsHandler(next http.Handler) http.Handler {
	return middleware.CORS(middleware.CORSConfig{
		Origins: []string{"https://app.example"},
		Headers: []string{"X-Api-Key", "Content-Type"},
		MaxAge:  10 * time.Minute,
	})(next)
}

func preflight(origin, method, headers string) *http.Request {
	req, _ := http.NewRequest("OPTIONS", "http://gw/api/x", nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", method)
	if headers != "" {
		req.Header.Set("Access-Control-Request-Headers", headers)
	}
	return req
}

func TestCORSPreflightIsAnsweredAtTheGateway(t *testing.T) {
	next := &ok{}
	rec := do(corsHandler(next), preflight("https://app.example", "DELETE", "x-api-key, content-type"))
	assert.Equal(t, http.StatusNoContent, rec.Code)
	want := http.Header{
		"Access-Control-Allow-Origin":  {"https://app.example"},
		"Access-Control-Allow-Methods": {"GET, POST, PUT, PATCH, DELETE"},
		"Access-Control-Allow-Headers": {"X-Api-Key, Content-Type"},
		"Access-Control-Max-Age":       {"600"},
		"Vary":                         {"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"},
	}
	if diff := cmp.Diff(want, rec.Header()); diff != "" {
		t.Errorf("preflight answer (-want +got):\n%s", diff)
	}
	assert.Equal(t, 0, next.Calls(), "a preflight must not reach the upstream")
}

// TestCORSAnswersFollowTheConfiguration: a preflight for a simple method
// (GET, HEAD, POST) passes whatever Methods lists; what the configuration
// leaves out (Headers, MaxAge) the answer leaves out, instead of an empty
// Access-Control-Allow-Headers or a Max-Age of 0; and Expose is named on
// an actual request, after X-Request-Id.
func TestCORSAnswersFollowTheConfiguration(t *testing.T) {
	h := middleware.CORS(middleware.CORSConfig{
		Origins: []string{"https://app.example"},
		Methods: []string{"PUT"},
		Expose:  []string{"X-Total"},
	})(&ok{})
	for _, method := range []string{"GET", "HEAD", "POST", "PUT"} {
		rec := do(h, preflight("https://app.example", method, ""))
		assert.Equal(t, http.StatusNoContent, rec.Code, method)
		want := http.Header{
			"Access-Control-Allow-Origin":  {"https://app.example"},
			"Access-Control-Allow-Methods": {"PUT"},
			"Vary":                         {"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"},
		}
		if diff := cmp.Diff(want, rec.Header()); diff != "" {
			t.Errorf("preflight for %s (-want +got):\n%s", method, diff)
		}
	}
	rec := get(h, "/api/x", "Origin", "https://app.example")
	assert.Equal(t, "X-Request-Id, X-Total", rec.Header().Get("Access-Control-Expose-Headers"))
}

// A max_age under a second, or between two, is rounded up to whole
// seconds: truncated, 500ms was Max-Age: 0, which tells the browser not
// to cache the preflight at all.
func TestCORSMaxAgeIsRoundedUp(t *testing.T) {
	for age, want := range map[time.Duration]string{500 * time.Millisecond: "1", 1500 * time.Millisecond: "2", 10 * time.Minute: "600"} {
		h := middleware.CORS(middleware.CORSConfig{Origins: []string{"https://app.example"}, MaxAge: age})(&ok{})
		rec := do(h, preflight("https://app.example", "PUT", ""))
		assert.Equal(t, want, rec.Header().Get("Access-Control-Max-Age"), "max_age %v", age)
	}
}

func TestCORSPreflightRefusals(t *testing.T) {
	cases := []struct{ name, origin, method, headers, body string }{
		{"other origin", "https://evil.example", "GET", "", `CORS preflight: origin "https://evil.example" is not allowed`},
		{"method not allowed", "https://app.example", "TRACE", "", `CORS preflight: method "TRACE" is not allowed`},
		{"header not allowed", "https://app.example", "GET", "X-Api-Key, X-Admin", `CORS preflight: header "X-Admin" is not allowed`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			next := &ok{}
			rec := do(corsHandler(next), preflight(tc.origin, tc.method, tc.headers))
			assert.Equal(t, http.StatusForbidden, rec.Code)
			assert.Equal(t, tc.body+"\n", rec.Body.String())
			assert.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"))
			assert.Equal(t, 0, next.Calls())
		})
	}
}

// TestCORSOnlyAnOPTIONSWithARequestMethodIsAPreflight: the Fetch
// standard's preflight is an OPTIONS request with
// Access-Control-Request-Method. A page's own OPTIONS request (sent after
// its preflight, without that header), or another method that carries
// the header, is an actual request: it goes upstream, with the origin's
// Access-Control-Allow-Origin.
func TestCORSOnlyAnOPTIONSWithARequestMethodIsAPreflight(t *testing.T) {
	for _, method := range []string{"OPTIONS", "GET"} {
		next := &ok{}
		req, _ := http.NewRequest(method, "http://gw/api/x", nil)
		req.Header.Set("Origin", "https://app.example")
		if method != "OPTIONS" {
			req.Header.Set("Access-Control-Request-Method", "DELETE")
		}
		rec := do(corsHandler(next), req)
		assert.Equal(t, http.StatusOK, rec.Code, method)
		assert.Equal(t, 1, next.Calls(), "%s must reach the upstream", method)
		assert.Equal(t, "https://app.example", rec.Header().Get("Access-Control-Allow-Origin"), method)
		assert.Empty(t, rec.Header().Get("Access-Control-Allow-Methods"), method)
	}
}

func TestCORSActualRequests(t *testing.T) {
	next := &ok{}
	h := corsHandler(next)

	rec := get(h, "/api/x", "Origin", "https://app.example")
	assert.Equal(t, "https://app.example", rec.Header().Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "X-Request-Id", rec.Header().Get("Access-Control-Expose-Headers"))
	assert.Equal(t, []string{"Origin"}, rec.Header().Values("Vary"))

	rec = get(h, "/api/x", "Origin", "https://evil.example")
	assert.Equal(t, http.StatusOK, rec.Code, "the server answers; the browser withholds it from the page")
	assert.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"))

	rec = get(h, "/api/x")
	assert.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"), "a request without Origin is not a CORS request")
	assert.Equal(t, []string{"Origin"}, rec.Header().Values("Vary"),
		"the answer without Origin differs too: a shared cache must not give it to a browser")
	assert.Equal(t, 3, next.Calls())
}

func TestCORSAnyOrigin(t *testing.T) {
	h := middleware.CORS(middleware.CORSConfig{Origins: []string{"*"}})(&ok{})
	rec := do(h, preflight("https://anyone.example", "PUT", ""))
	assert.Equal(t, http.StatusNoContent, rec.Code)
	assert.Equal(t, "https://anyone.example", rec.Header().Get("Access-Control-Allow-Origin"))
}

// TestCORSAnyOriginGrantsNoCredentials: "*" lets any page read an answer
// without credentials, and the Fetch standard keeps it so: a browser
// refuses a credentialed answer whose Access-Control-Allow-Origin is "*".
// The layer sends the page's own origin instead, so an upstream's
// "Access-Control-Allow-Credentials: true" (meant for the origins it
// trusts) must not go out beside it: any site could then read a user's
// answers, cookies and all.
func TestCORSAnyOriginGrantsNoCredentials(t *testing.T) {
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Access-Control-Allow-Origin", "https://app.example")
		w.Header().Add("Access-Control-Allow-Credentials", "true")
		io.WriteString(w, "the user's private data")
	})
	h := middleware.CORS(middleware.CORSConfig{Origins: []string{"*"}})(upstream)
	rec := get(h, "/api/me", "Origin", "https://evil.example")
	assert.Equal(t, "https://evil.example", rec.Header().Get("Access-Control-Allow-Origin"))
	assert.Empty(t, rec.Header().Values("Access-Control-Allow-Credentials"),
		`an origin allowed by "*" alone must not be granted credentials`)

	listed := middleware.CORS(middleware.CORSConfig{Origins: []string{"*", "https://app.example"}})(upstream)
	rec = get(listed, "/api/me", "Origin", "https://app.example")
	assert.Equal(t, []string{"true"}, rec.Header().Values("Access-Control-Allow-Credentials"),
		"an origin the configuration names is the operator's choice: the upstream's credentials stand")
}

// With Credentials, an origin the configuration names may send cookies
// and HTTP authentication: its preflight and its actual requests say
// Access-Control-Allow-Credentials: true (over an upstream's own). Without
// it the preflight grants none, and a browser would send no credentialed
// PUT at all. An origin allowed by "*" alone gets none either way.
func TestCORSCredentials(t *testing.T) {
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Credentials", "false")
	})
	cfg := middleware.CORSConfig{Origins: []string{"*", "https://app.example"}, Headers: []string{"Authorization"}, Credentials: true}
	h := middleware.CORS(cfg)(upstream)

	rec := do(h, preflight("https://app.example", "PUT", "authorization"))
	assert.Equal(t, http.StatusNoContent, rec.Code)
	assert.Equal(t, []string{"true"}, rec.Header().Values("Access-Control-Allow-Credentials"), "preflight of a named origin")
	rec = get(h, "/api/me", "Origin", "https://app.example")
	assert.Equal(t, []string{"true"}, rec.Header().Values("Access-Control-Allow-Credentials"), "actual request of a named origin, over the upstream's")

	rec = do(h, preflight("https://other.example", "PUT", "authorization"))
	assert.Equal(t, http.StatusNoContent, rec.Code)
	assert.Empty(t, rec.Header().Values("Access-Control-Allow-Credentials"), `preflight of an origin "*" allows`)
	rec = get(h, "/api/me", "Origin", "https://other.example")
	assert.Empty(t, rec.Header().Values("Access-Control-Allow-Credentials"), `actual request of an origin "*" allows`)

	cfg.Credentials = false
	rec = do(middleware.CORS(cfg)(upstream), preflight("https://app.example", "PUT", "authorization"))
	assert.Equal(t, http.StatusNoContent, rec.Code)
	assert.Empty(t, rec.Header().Values("Access-Control-Allow-Credentials"), "without Credentials the preflight grants none")
}
