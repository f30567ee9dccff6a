package gateway

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/backend"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Each pool has one backend, so the backend that answers names the route
// that matched.
func TestRoutingPrecedence(t *testing.T) {
	srvs := backends(t, 6)
	_, gw, _ := start(t, fill(`
pools:
  a: {targets: ["${A}"]}
  b: {targets: ["${B}"]}
  c: {targets: ["${C}"]}
  d: {targets: ["${D}"]}
  e: {targets: ["${E}"]}
  f: {targets: ["${F}"]}
routes:
  - {path: /, pool: a}
  - {path: /api, pool: b}
  - {path: /api/v2, pool: c}
  - {host: "*.example.com", path: /api, pool: d}
  - {host: "*.eu.example.com", path: /, pool: f}
  - {host: shop.example.com, path: /api/v2/cart, pool: e}
`, srvs))
	for _, tc := range []struct{ host, path, want string }{
		{"other.test", "/", "A"},
		{"other.test", "/apiary", "A"},                 // prefixes match whole segments
		{"other.test", "/api", "B"},                    //
		{"other.test", "/api/users", "B"},              //
		{"other.test", "/api/v2/users", "C"},           // the longest prefix wins
		{"x.example.com", "/api/v2/users", "D"},        // a wildcard host beats any host
		{"x.example.com", "/other", "A"},               // ...when one of its routes matches the path
		{"example.com", "/api", "B"},                   // *.example.com needs a subdomain
		{"shop.example.com", "/api/v2/cart/1", "E"},    // the exact host beats the wildcard
		{"shop.example.com", "/api/v1", "D"},           // falls back to the wildcard for other paths
		{"SHOP.Example.com:8080", "/api/v2/cart", "E"}, // host names ignore case and port
		{"a.eu.example.com", "/api", "F"},              // the longest wildcard suffix first
		{"other.test", "//api/users", "B"},             // repeated slashes count as one
		{"other.test", "/api//v2/users", "C"},          //
	} {
		r := send(t, http.DefaultClient, "GET", gw.URL+tc.path, http.Header{"Host": {tc.host}}, "")
		assert.Equal(t, tc.want, r.backend, "host %s path %s", tc.host, tc.path)
	}
}

// Routes match the request's path decoded: a route for "/a b" takes a
// request for /a%20b. (The configuration refuses "/a%20b" as a route's
// path, which would match only a request for /a%2520b.)
func TestRoutesMatchTheDecodedPath(t *testing.T) {
	srvs := backends(t, 2)
	_, gw, _ := start(t, fill(`
pools:
  a: {targets: ["${A}"]}
  b: {targets: ["${B}"]}
routes:
  - {path: /, pool: a}
  - {path: "/a b", pool: b}
  - {path: "/100%", pool: b}
`, srvs))
	for _, tc := range []struct{ path, want string }{
		{"/a%20b", "B"},
		{"/a%20b/c", "B"},
		{"/a%2520b", "A"}, // a '%' itself, then 20b: not the route's path
		{"/100%25", "B"},  // a '%' that starts no escape is the character itself
	} {
		r := send(t, http.DefaultClient, "GET", gw.URL+tc.path, nil, "")
		assert.Equal(t, tc.want, r.backend, "path %s", tc.path)
	}
}

// A path with a "." or ".." segment, as sent or percent-encoded, is
// refused before routing: "/public/../admin" must not be matched as
// /public and skip the auth of /admin. Repeated slashes are matched as
// one but forwarded as sent.
func TestPathsAreMatchedInNormalForm(t *testing.T) {
	sent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.RequestURI) // the path as the backend got it
	}))
	t.Cleanup(sent.Close)
	srvs := append(backends(t, 1), sent)
	_, gw, _ := start(t, fill(`
pools:
  a: {targets: ["${A}"]}
  b: {targets: ["${B}"]}
routes:
  - {path: /, pool: a}
  - path: /admin
    pool: b
    middleware:
      - name: auth
        api_keys: [{id: ops, key: secret-key}]
`, srvs))
	for _, path := range []string{"/public/../admin/users", "/public/%2e%2e/admin/users", "/public/%2E./admin", "/./admin/users", "/admin/."} {
		code, body := do(t, http.DefaultClient, "GET", gw.URL+path, nil, "")
		assert.Equal(t, http.StatusBadRequest, code, path)
		assert.Contains(t, body, "segment; send it resolved", path)
	}
	code, _ := do(t, http.DefaultClient, "GET", gw.URL+"//admin/users", nil, "")
	assert.Equal(t, http.StatusUnauthorized, code, "//admin is the /admin route, auth included")
	code, body := do(t, http.DefaultClient, "GET", gw.URL+"//admin//a%2Fb", http.Header{"X-Api-Key": {"secret-key"}}, "")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "//admin//a%2Fb", body, "forwarded as sent")
	code, body = do(t, http.DefaultClient, "GET", gw.URL+"/admin/..data", http.Header{"X-Api-Key": {"secret-key"}}, "")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "/admin/..data", body, "a segment that only starts with dots is a name")
}

func TestStripPrefixAndNotFound(t *testing.T) {
	srvs := backends(t, 1)
	_, gw, _ := start(t, fill(`
pools:
  a: {targets: ["${A}"]}
routes:
  - {host: api.test, path: /v1, pool: a, strip_prefix: true}
  - {host: api.test, path: /echo, pool: a}
`, srvs))
	echo := func(path string) backend.Echo {
		code, body := do(t, http.DefaultClient, "GET", gw.URL+path, http.Header{"Host": {"api.test"}}, "")
		require.Equal(t, 200, code, body)
		var e backend.Echo
		require.NoError(t, jsonUnmarshal(body, &e))
		return e
	}
	assert.Equal(t, "/echo", echo("/v1/echo").Path, "the route's prefix is stripped")
	assert.Equal(t, "/echo", echo("/echo").Path, "without strip_prefix the path is forwarded as it is")
	e := echo("/v1/echo")
	assert.Equal(t, []string{"127.0.0.1"}, e.Headers["X-Forwarded-For"], "the gateway says who the client is")

	code, body := do(t, http.DefaultClient, "GET", gw.URL+"/v1/echo", http.Header{"Host": {"other.test"}}, "")
	assert.Equal(t, http.StatusNotFound, code)
	assert.Equal(t, "not found: no route for host \"other.test\" path \"/v1/echo\"\n", body)
	code, body = do(t, http.DefaultClient, "GET", gw.URL+"/v1/echo", http.Header{"Host": {"[::1]:8080"}}, "")
	assert.Equal(t, http.StatusNotFound, code)
	assert.Equal(t, "not found: no route for host \"[::1]\" path \"/v1/echo\"\n", body, "an IPv6 literal ends at its ], not at its first colon")
}

// Every balancer name in a file gives a working pool of that balancer; the
// deterministic ones are checked for their order.
func TestEveryBalancerFromConfig(t *testing.T) {
	srvs := backends(t, 3)
	names := []string{"random", "roundrobin", "swrr", "leastconn", "p2c", "chash", "bounded", "maglev"}
	text := "pools:\n"
	for _, n := range names {
		key := "" // only the balancers that hash a request take a key
		if n == "chash" || n == "bounded" || n == "maglev" {
			key = "    key: header:X-User\n"
		}
		text += fmt.Sprintf("  %s:\n    balancer: %s\n%s    targets: [{url: \"${A}\", weight: 5}, \"${B}\", \"${C}\"]\n", n, n, key)
	}
	text += "routes:\n"
	for _, n := range names {
		text += fmt.Sprintf("  - {path: /%s, pool: %s, strip_prefix: true}\n", n, n)
	}
	g, gw, _ := start(t, fill(text, srvs))

	seq := func(name, user string, n int) []string {
		var got []string
		for range n {
			code, body := do(t, http.DefaultClient, "GET", gw.URL+"/"+name+"/", http.Header{"X-User": {user}}, "")
			require.Equal(t, 200, code, body)
			got = append(got, who(body))
		}
		return got
	}
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			want := map[string]string{
				"random": "*balancer.Random", "roundrobin": "*balancer.RoundRobin", "swrr": "*balancer.SmoothWeighted",
				"leastconn": "*balancer.LeastConn", "p2c": "*balancer.TwoChoices", "chash": "*balancer.ConsistentHash",
				"bounded": "*balancer.BoundedLoad", "maglev": "*balancer.Maglev",
			}[n]
			assert.Equal(t, want, fmt.Sprintf("%T", g.cur.Load().pools[n].bal))
			got := seq(n, "ann", 7)
			switch n {
			case "roundrobin":
				assert.Equal(t, []string{"A", "B", "C", "A", "B", "C", "A"}, got)
			case "swrr": // nginx's example: weights 5, 1, 1
				if diff := cmp.Diff([]string{"A", "A", "B", "A", "C", "A", "A"}, got); diff != "" {
					t.Errorf("smooth weighted order (-want +got):\n%s", diff)
				}
			case "chash", "bounded", "maglev":
				for _, b := range got {
					assert.Equal(t, got[0], b, "one user, one backend: %v", got)
				}
			}
		})
	}
}

// A Host header is matched in the form routes are written: "secure.test."
// (the same name, fully qualified) and "secure.test:80:80" (nginx, and any
// backend that reads up to the first colon, sees secure.test) must not
// fall to the route for any host and skip the auth of secure.test's.
func TestHostsAreMatchedInNormalForm(t *testing.T) {
	srvs := backends(t, 1)
	_, gw, _ := start(t, fill(`
pools:
  a: {targets: ["${A}"]}
routes:
  - {path: /, pool: a}
  - host: secure.test
    path: /
    pool: a
    preserve_host: true
    middleware:
      - name: auth
        api_keys: [{id: ops, key: secret-key}]
  - host: "*.wild.test"
    path: /
    pool: a
    middleware:
      - name: auth
        api_keys: [{id: ops, key: secret-key}]
`, srvs))
	for _, host := range []string{"secure.test", "secure.test.", "SECURE.test.:8080", "secure.test..", "secure.test:80:80", "secure.test.:", "a.wild.test.", "a.wild.test:1:2"} {
		code, _ := do(t, http.DefaultClient, "GET", gw.URL+"/x", http.Header{"Host": {host}}, "")
		assert.Equal(t, http.StatusUnauthorized, code, "Host: %s is secure.test's route, auth included", host)
	}
	code, _ := do(t, http.DefaultClient, "GET", gw.URL+"/", http.Header{"Host": {"other.test."}}, "")
	assert.Equal(t, http.StatusOK, code, "any other host")
}

// Servers often put behind a proxy read some paths their own way: Tomcat
// and Jetty end a segment at its ';' ("/admin;x/users" is /admin/users,
// "/public/..;/admin" is /admin), IIS takes a backslash for a slash. The
// backend here reads paths both ways, as such a server would, and says
// which path it serves: none of these may reach /admin's content through
// the route for "/", which has no auth.
//
// Tomcat drops a segment's parameters before it decodes the path
// (CoyoteAdapter.postParseRequest: parsePathParameters, then the URL
// decoder), so an encoded slash inside them goes with them, and "%3B" is
// no ';' to it. Routed on the decoded path, "/;%2Fpublic/admin" was
// "/public/admin", the route for "/", and Tomcat served it as /admin.
func TestPathsAreMatchedAsTomcatAndIISReadThem(t *testing.T) {
	lenient := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		segs := strings.Split(r.URL.EscapedPath(), "/") // as sent
		for i, s := range segs {
			segs[i], _, _ = strings.Cut(s, ";") // before decoding, as Tomcat does
		}
		p, err := url.PathUnescape(strings.Join(segs, "/"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		p = strings.ReplaceAll(p, `\`, "/")
		io.WriteString(w, path.Clean(p)) // the path it serves
	}))
	t.Cleanup(lenient.Close)
	_, gw, _ := start(t, fill(`
pools:
  a: {targets: ["${A}"]}
routes:
  - {path: /, pool: a}
  - path: /admin
    pool: a
    middleware:
      - name: auth
        api_keys: [{id: ops, key: secret-key}]
`, []*httptest.Server{lenient}))
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/admin;x/users", http.StatusUnauthorized},          // the /admin route
		{"/admin;/users", http.StatusUnauthorized},           //
		{"/admin;x%2Fy/users", http.StatusUnauthorized},      //
		{"/;%2Fpublic/admin", http.StatusUnauthorized},       // the parameter's "%2F" goes with it
		{"/;x%2Fy/admin/a", http.StatusUnauthorized},         //
		{"/;x%2F..%2Fpublic/admin/a", http.StatusBadRequest}, // a dot segment once decoded
		{"/admin%3Bx/users", http.StatusOK},                  // encoded: not a ';', "admin;x" is no /admin
		{`/admin\users`, http.StatusUnauthorized},            //
		{"/admin%5Cusers", http.StatusUnauthorized},          //
		{"/public/..;/admin", http.StatusBadRequest},         // a dot segment, as Tomcat reads it
		{"/public/.;x/../admin", http.StatusBadRequest},      //
		{"/public/%2e%2e;x%2F/admin", http.StatusBadRequest}, //
		{"/public/;%2F..%2F../admin", http.StatusBadRequest}, // none to Tomcat, two once decoded: /admin to Go or nginx
		{`/public/..\admin`, http.StatusBadRequest},          // ...as IIS reads it
		{"/public/..%5Cadmin", http.StatusBadRequest},        //
	} {
		req, err := http.NewRequest("GET", gw.URL, nil)
		require.NoError(t, err)
		req.URL.Opaque = tc.path // sent as written
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, tc.want, resp.StatusCode, "%s: got %q", tc.path, body)
		assert.False(t, resp.StatusCode == http.StatusOK && (string(body) == "/admin" || strings.HasPrefix(string(body), "/admin/")), "%s reached /admin's content: %s", tc.path, body)
	}
	for _, p := range []string{"/a;b=1", "/files;v=2/x", "/adminx;y"} {
		code, body := do(t, http.DefaultClient, "GET", gw.URL+p, nil, "")
		assert.Equal(t, http.StatusOK, code, "%s is not under /admin", p)
		assert.NotContains(t, body, "/admin/", p)
	}
}

// TestRequestTargetsThatAreNotPaths: a gateway forwards requests for paths.
// CONNECT (a forward proxy's tunnel) is not something it does, and was
// forwarded as "CONNECT /"; "GET *" reached the backend as "/%2A"; and a
// scheme with no "//" after it ("GET x:admin/../y", which net/url reads
// as an opaque URL with an empty path) went to the route for "/" and
// reached the backend as "GET admin/../y", past the check for dot
// segments. None reaches a backend now. (net/http answers "OPTIONS *"
// itself.)
func TestRequestTargetsThatAreNotPaths(t *testing.T) {
	var hits atomic.Int32
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(counting.Close)
	_, gw, _ := start(t, fill("pools: {a: {targets: [\"${A}\"]}}\nroutes: [{pool: a}]\n", []*httptest.Server{counting}))
	for _, tc := range []struct {
		request string
		want    int
		says    string
	}{
		{"CONNECT secure.test:443 HTTP/1.1\r\nHost: secure.test:443\r\n\r\n", http.StatusNotImplemented, "not a forward proxy"},
		{"GET * HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusBadRequest, `request target "*" is not a path`},
		{"GET x:admin/../y HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusBadRequest, `request target "x:admin/../y" is not a path`},
		{"GET http:admin HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusBadRequest, `request target "http:admin" is not a path`},
		{"GET http://x HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusOK, ""}, // absolute form, empty path: "/"
	} {
		conn, err := net.Dial("tcp", gw.Listener.Addr().String())
		require.NoError(t, err)
		require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second))) // a bound on a test that would hang, not a timing
		_, err = io.WriteString(conn, tc.request)
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		conn.Close()
		assert.Equal(t, tc.want, resp.StatusCode, "%q: %s", tc.request, body)
		assert.Contains(t, string(body), tc.says)
	}
	assert.Equal(t, int32(1), hits.Load(), "only the absolute-form GET reaches the backend")
}

// TestQueriesThatDoNotParseAreRefused: httputil.ReverseProxy forwards a
// query that url.ParseQuery cannot read re-encoded without the pairs it
// cannot read, so "DELETE /k?version=1;" reached the backend as "DELETE
// /k", another request. Such a query is a 400 now, and never reaches a
// backend; a query that parses goes on exactly as sent, order and
// encoding kept.
func TestQueriesThatDoNotParseAreRefused(t *testing.T) {
	var got []string
	var mu sync.Mutex
	sent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.RawQuery)
		mu.Unlock()
	}))
	t.Cleanup(sent.Close)
	_, gw, _ := start(t, fill("pools: {a: {targets: [\"${A}\"]}}\nroutes: [{pool: a}]\n", []*httptest.Server{sent}))
	tooMany := strings.Repeat("a=1&", 10000) + "a=1" // 10,001 pairs, one over net/url's limit
	for _, q := range []string{"version=1;", "version=1;x", "a=1;b=2", "prefix=%zz", "x=%", "x=%4", "a=1&b=%g0", "a=%4g", tooMany} {
		code, body := do(t, http.DefaultClient, "DELETE", gw.URL+"/k?"+q, nil, "")
		assert.Equal(t, http.StatusBadRequest, code, "%.40s", q)
		assert.Contains(t, body, "does not parse", "%.40s", q)
	}
	fine := []string{"b=2&a=1", "x=%20y+z&x=%C3%A9", "flag", "a=&=b", "k=%2F%3B", strings.Repeat("a=1&", 9999) + "a=1"}
	for _, q := range fine {
		code, body := do(t, http.DefaultClient, "DELETE", gw.URL+"/k?"+q, nil, "")
		assert.Equal(t, http.StatusOK, code, "%.40s: %s", q, body)
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, fine, got, "only the queries that parse reach the backend, as sent")
	// The check costs a query that parses one scan, and no allocation:
	// url.ParseQuery, which builds a map, runs only on a suspect one.
	for _, q := range fine[:len(fine)-1] {
		assert.Zero(t, testing.AllocsPerRun(10, func() { _ = queryProblem(q) }), "allocations checking %q", q)
	}
}

// TestStripPrefixOfAPathMatchedInNormalForm: "//v1/users" and
// "/v1;x/users" are the /v1 route (see TestPathsAreMatchedInNormalForm),
// and its strip_prefix applies to them too: the prefix is stripped from
// the normal form, which is what goes on. The prefix was left in place,
// since the path as sent does not start with it.
func TestStripPrefixOfAPathMatchedInNormalForm(t *testing.T) {
	sent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.RequestURI) // the path as the backend got it
	}))
	t.Cleanup(sent.Close)
	_, gw, _ := start(t, fill("pools: {a: {targets: [\"${A}\"]}}\nroutes: [{path: /v1, pool: a, strip_prefix: true}]\n", []*httptest.Server{sent}))
	for path, want := range map[string]string{
		"/v1/users":     "/users", // as sent: unchanged
		"/v1//a%2Fb":    "//a%2Fb",
		"//v1/users":    "/users",
		"/v1;x/users?q": "/users?q",
		"//v1//a%2Fb":   "/a%2Fb",
		"//v1":          "/",
		"/v1;x%2Fy/u":   "/u", // the parameter goes whole, its "%2F" too, as Tomcat reads it
	} {
		code, body := do(t, http.DefaultClient, "GET", gw.URL+path, nil, "")
		assert.Equal(t, http.StatusOK, code, path)
		assert.Equal(t, want, body, path)
	}
}
