package gateway

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/config"
	"github.com/gocourse/gateway/06-middleware/middleware"
)

// serveWith serves h with the hardened server of the listen section l.
func serveWith(t *testing.T, l config.Listener, h http.Handler) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config = Server(l, h, nil)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func TestServerLimitsComeFromTheListenSection(t *testing.T) {
	cfg, err := config.Parse("l.yaml", []byte(`
listen: {read_header_timeout: 50ms, read_timeout: 3s, write_timeout: 4s, idle_timeout: 5s, max_header_bytes: 1024}
pools: {p: {targets: ["http://h:1"]}}
routes: [{pool: p}]
`), DefaultRegistry())
	require.NoError(t, err)
	srv := Server(cfg.Listen, http.NotFoundHandler(), nil)
	assert.Equal(t, 50*time.Millisecond, srv.ReadHeaderTimeout)
	assert.Equal(t, 3*time.Second, srv.ReadTimeout)
	assert.Equal(t, 4*time.Second, srv.WriteTimeout)
	assert.Equal(t, 5*time.Second, srv.IdleTimeout)
	assert.Equal(t, 1024, srv.MaxHeaderBytes)

	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	addr := serveWith(t, cfg.Listen, ok)

	// Headers past max_header_bytes are refused. Checked on a server of
	// its own whose read_header_timeout a slow machine cannot outlast:
	// with 50 ms, a client paused between dialling and writing (a busy
	// CI) was cut off before its headers were read.
	roomy := cfg.Listen
	roomy.ReadHeaderTimeout = time.Minute
	req, err := http.NewRequest("GET", "http://"+serveWith(t, roomy, ok)+"/", nil)
	require.NoError(t, err)
	req.Header.Set("X-Big", strings.Repeat("x", 8<<10))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)

	// A client that never finishes its headers (slowloris) is cut off.
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n") // and no blank line, ever
	require.NoError(t, err)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second)) // a bound on the test, not a synchronisation
	_, err = bufio.NewReader(conn).ReadString('\n')
	assert.ErrorIs(t, err, io.EOF, "the server closes the connection once read_header_timeout passes")
}

// The breaker's options are checked when the file is loaded: a negative
// count or cooldown is an error on its line, not the default in silence.
func TestBreakerOptionsAreChecked(t *testing.T) {
	_, err := config.Parse("b.yaml", []byte(`
pools: {p: {targets: ["http://h:1"]}}
routes:
  - pool: p
    middleware:
      - {name: breaker, failures: -3}
      - {name: breaker, cooldown: -1s}
`), DefaultRegistry())
	require.Error(t, err)
	assert.Equal(t, "b.yaml:6: routes[0].middleware[0]: breaker: failures: want a positive number, got -3: leave failures out for the default, 5\n"+
		"b.yaml:7: routes[0].middleware[1]: breaker: cooldown: want a positive duration, got -1s: leave cooldown out for the default, 10s", err.Error())
}

// The other middleware's options are checked so too: a negative size or
// duration, which their constructors would replace with the default, is
// an error on its line.
func TestNegativeMiddlewareOptionsAreChecked(t *testing.T) {
	_, err := config.Parse("n.yaml", []byte(`
pools: {p: {targets: ["http://h:1"]}}
routes:
  - pool: p
    middleware:
      - {name: rate-limit, rate: 1, burst: 1, max_clients: -1}
      - {name: rate-limit, rate: 1, burst: 1, idle: -1s}
      - {name: cors, origins: ["*"], max_age: -1s}
      - {name: auth, api_keys: [{id: a, key: k}], max_skew: -5m}
`), DefaultRegistry())
	require.Error(t, err)
	assert.Equal(t, "n.yaml:6: routes[0].middleware[0]: rate-limit: max_clients: want a positive number, got -1: leave max_clients out for the default, 10000\n"+
		"n.yaml:7: routes[0].middleware[1]: rate-limit: idle: want a positive duration, got -1s: leave idle out for the default, 10m0s\n"+
		"n.yaml:8: routes[0].middleware[2]: cors: max_age: negative duration -1s\n"+
		"n.yaml:9: routes[0].middleware[3]: auth: max_skew: want a positive duration, got -5m0s: leave max_skew out for the default, 5m0s", err.Error())
}

// A middleware's own check runs beside the errors of decoding its
// options, so that one -check shows both mistakes of a file; but not when
// what it finds wrong is a key that did not decode, whose default it sees
// (rate 0 for "rate: fast", no origins for origins not given as a list),
// or when it names no key (auth's "no credentials" for an api_keys that
// did not decode).
func TestMiddlewareChecksRunBesideDecodingErrors(t *testing.T) {
	_, err := config.Parse("m.yaml", []byte(`
pools: {p: {targets: ["http://h:1"]}}
routes:
  - pool: p
    middleware:
      - {name: rate-limit, rate: 0, burst: 5, idle: soon}
      - {name: rate-limit, rate: fast, burst: 5}
      - {name: rate-limit, rate: 1, burst: [5]}
      - {name: cors, origins: "*"}
      - {name: auth, api_keys: {id: a, key: k}}
`), DefaultRegistry())
	require.Error(t, err)
	assert.Equal(t, `m.yaml:6: routes[0].middleware[0].idle: "soon" is not a duration: want a number with a unit, such as 500ms, 10s or 2m`+"\n"+
		"m.yaml:6: routes[0].middleware[0]: rate-limit: rate: want requests per second above 0, got 0\n"+
		`m.yaml:7: routes[0].middleware[1].rate: "fast" is not a number`+"\n"+
		`m.yaml:8: routes[0].middleware[2].burst: want a single value, got a list`+"\n"+
		`m.yaml:9: routes[0].middleware[3].origins: want a list (lines starting with -), got "*"`+"\n"+
		"m.yaml:10: routes[0].middleware[4].api_keys: want a list (lines starting with -), got a mapping", err.Error())
}

// A check's mistake that has nothing to do with a key that did not decode
// is reported beside that key's error, whichever option it is about: the
// rate-limit key and auth's credentials too, whose errors did not name
// their key (so were taken to follow from any decoding error and dropped,
// to be found once the misspelt duration was fixed). Each list of auth's
// credentials is checked on its own, so both are reported.
func TestEveryCheckedOptionIsReportedBesideDecodingErrors(t *testing.T) {
	_, err := config.Parse("d.yaml", []byte(`
pools: {p: {targets: ["http://h:1"]}}
routes:
  - pool: p
    middleware:
      - {name: rate-limit, rate: 1, burst: 5, idle: soon, key: "header:"}
      - {name: auth, api_keys: [{id: a}], hmac: [{id: b, key: k}, {id: b, key: k}], max_skew: soon}
      - {name: auth, api_keys: [{id: a, key: [k]}], max_skew: 1s}
`), DefaultRegistry())
	require.Error(t, err)
	assert.Equal(t, `d.yaml:6: routes[0].middleware[0].idle: "soon" is not a duration: want a number with a unit, such as 500ms, 10s or 2m`+"\n"+
		`d.yaml:6: routes[0].middleware[0]: rate-limit: key: bad key "header:": want ip, path, header:NAME, cookie:NAME or none`+"\n"+
		`d.yaml:7: routes[0].middleware[1].max_skew: "soon" is not a duration: want a number with a unit, such as 500ms, 10s or 2m`+"\n"+
		`d.yaml:7: routes[0].middleware[1]: auth: api_keys: API key "a": a credential needs a unique ID and a secret`+"\n"+
		`d.yaml:7: routes[0].middleware[1]: auth: hmac: HMAC credential "b": a credential needs a unique ID and a secret`+"\n"+
		// The key that did not decode is the only mistake: the check's
		// complaint about the entry without it follows from it.
		`d.yaml:8: routes[0].middleware[2].api_keys[0].key: want a single value, got a list`, err.Error())
}

// A middleware's check reports every mistake in its options at once, not
// the first: the user does not fix rate to be told about burst.
func TestEveryMistakeOfAMiddlewaresOptionsIsReported(t *testing.T) {
	_, err := config.Parse("e.yaml", []byte(`
pools: {p: {targets: ["http://h:1"]}}
routes:
  - pool: p
    middleware:
      - {name: rate-limit, rate: 0, burst: 0, max_clients: -1, idle: -1s, key: "header:"}
      - {name: breaker, failures: -1, cooldown: -1s}
      - {name: cors, origins: ["*"], credentials: true, max_age: -1s}
      - {name: cors, credentials: true, max_age: -1s}
      - {name: auth, max_skew: -1s}
      - {name: auth, api_keys: [{id: a}], max_skew: -1s}
      - {name: rate-limit, rate: 1, burst: -2}
`), DefaultRegistry())
	require.Error(t, err)
	assert.Equal(t, "e.yaml:6: routes[0].middleware[0]: rate-limit: rate: want requests per second above 0, got 0\n"+
		"e.yaml:6: routes[0].middleware[0]: rate-limit: burst: want 1 or more (it has no default: the most requests a client may make at once)\n"+
		"e.yaml:6: routes[0].middleware[0]: rate-limit: max_clients: want a positive number, got -1: leave max_clients out for the default, 10000\n"+
		"e.yaml:6: routes[0].middleware[0]: rate-limit: idle: want a positive duration, got -1s: leave idle out for the default, 10m0s\n"+
		`e.yaml:6: routes[0].middleware[0]: rate-limit: key: bad key "header:": want ip, path, header:NAME, cookie:NAME or none`+"\n"+
		"e.yaml:7: routes[0].middleware[1]: breaker: failures: want a positive number, got -1: leave failures out for the default, 5\n"+
		"e.yaml:7: routes[0].middleware[1]: breaker: cooldown: want a positive duration, got -1s: leave cooldown out for the default, 10s\n"+
		`e.yaml:8: routes[0].middleware[2]: cors: credentials: grants nothing to origins allowed by "*" alone: name the origins that may send credentials`+"\n"+
		"e.yaml:8: routes[0].middleware[2]: cors: max_age: negative duration -1s\n"+
		`e.yaml:9: routes[0].middleware[3]: cors: origins: list at least one origin, or "*"`+"\n"+
		"e.yaml:9: routes[0].middleware[3]: cors: max_age: negative duration -1s\n"+
		"e.yaml:10: routes[0].middleware[4]: auth: no credentials: give api_keys or hmac\n"+
		"e.yaml:10: routes[0].middleware[4]: auth: max_skew: want a positive duration, got -1s: leave max_skew out for the default, 5m0s\n"+
		`e.yaml:11: routes[0].middleware[5]: auth: api_keys: API key "a": a credential needs a unique ID and a secret`+"\n"+
		"e.yaml:11: routes[0].middleware[5]: auth: max_skew: want a positive duration, got -1s: leave max_skew out for the default, 5m0s\n"+
		"e.yaml:12: routes[0].middleware[6]: rate-limit: burst: want 1 or more, got -2", err.Error())
}

// cors's credentials option reaches the layer (a preflight from a named
// origin is granted credentials through the gateway), and is refused
// where it would grant nothing: every origin allowed by "*" alone.
func TestCORSCredentialsFromConfig(t *testing.T) {
	_, err := config.Parse("c.yaml", []byte(`
pools: {p: {targets: ["http://h:1"]}}
routes:
  - pool: p
    middleware:
      - {name: cors, origins: ["*"], credentials: true}
`), DefaultRegistry())
	require.Error(t, err)
	assert.Equal(t, `c.yaml:6: routes[0].middleware[0]: cors: credentials: grants nothing to origins allowed by "*" alone: name the origins that may send credentials`, err.Error())

	srvs := backends(t, 1)
	_, gw, _ := start(t, fill(`
pools: {p: {targets: ["${A}"]}}
routes:
  - pool: p
    middleware:
      - {name: cors, origins: ["*", "https://app.example"], headers: [Authorization], credentials: true}
`, srvs))
	req, err := http.NewRequest(http.MethodOptions, gw.URL+"/", nil)
	require.NoError(t, err)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "PUT")
	req.Header.Set("Access-Control-Request-Headers", "authorization")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Equal(t, "true", resp.Header.Get("Access-Control-Allow-Credentials"))
}

// What net/http itself logs (here a superfluous WriteHeader) goes to the
// logger given, as a warning, in its format and through its LogBuffer:
// after the access lines waiting there, not ahead of them on stderr.
func TestServerLogsThroughTheGatewaysLogger(t *testing.T) {
	var out lockedBuffer
	buf := middleware.NewLogBuffer(&out, 4096)
	logger := slog.New(middleware.NewTextHandler(buf, nil))
	buf.Write([]byte("an access line waiting\n"))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.WriteHeader(http.StatusTeapot) // net/http logs it
	})
	srv := httptest.NewUnstartedServer(h)
	srv.Config = Server(config.Listener{}, h, logger)
	srv.Start()
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	srv.Close() // the handler has returned: its log line is written
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, lines, 2, "the waiting line, then net/http's: %q", out.String())
	assert.Equal(t, "an access line waiting", lines[0])
	assert.Contains(t, lines[1], "level=WARN")
	assert.Contains(t, lines[1], "superfluous response.WriteHeader call")
}

// TestAuthPrefixesAndSharedKeysAreChecked: an allowed prefix that is
// not a path in normal form (an empty one would allow every path) or has
// a %-escape (prefixes match the decoded path), and an API key given to
// two clients, are errors on their line.
func TestAuthPrefixesAndSharedKeysAreChecked(t *testing.T) {
	_, err := config.Parse("p.yaml", []byte(`
pools: {p: {targets: ["http://h:1"]}}
routes:
  - pool: p
    middleware:
      - name: auth
        api_keys: [{id: guest, key: k, allow: [""]}]
      - name: auth
        hmac: [{id: h, key: s, allow: ["/a;b"]}]
      - name: auth
        api_keys: [{id: guest, key: k, allow: [/public]}, {id: admin, key: k}]
      - name: auth
        api_keys: [{id: guest, key: k, allow: [/public, "/a%20b"]}]
`), DefaultRegistry())
	require.Error(t, err)
	assert.Equal(t, `p.yaml:7: routes[0].middleware[0]: auth: api_keys: API key "guest": allow "": `+middleware.ErrBadPrefix.Error()+"\n"+
		`p.yaml:9: routes[0].middleware[1]: auth: hmac: HMAC credential "h": allow "/a;b": `+middleware.ErrBadPrefix.Error()+"\n"+
		`p.yaml:11: routes[0].middleware[2]: auth: api_keys: API keys "guest" and "admin": `+middleware.ErrKeyGivenTwice.Error()+"\n"+
		`p.yaml:13: routes[0].middleware[3]: auth: api_keys: API key "guest": allow "/a%20b" has a %-escape, but prefixes match the request's path decoded (a request for /a%20b is judged as /a b); write the character itself: `+middleware.ErrBadPrefix.Error(), err.Error())

	// The options' own check, which says "auth:" once, still wraps
	// NewAuth's error.
	opts := AuthOptions{APIKeys: []KeyOptions{{ID: "guest", Key: "k"}, {ID: "admin", Key: "k"}}, MaxSkew: time.Minute}
	assert.ErrorIs(t, opts.Check(), middleware.ErrKeyGivenTwice)
}
