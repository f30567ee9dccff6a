package middleware_test

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/06-middleware/onion"
)

func newAuth(t *testing.T, now func() time.Time) *middleware.Auth {
	t.Helper()
	a, err := middleware.NewAuth(middleware.AuthConfig{
		APIKeys: []middleware.Credential{
			{ID: "alice", Secret: "alice-key", Allow: []string{"/api/"}},
			{ID: "admin", Secret: "admin-key"},
		},
		HMAC: []middleware.Credential{{ID: "bob", Secret: "bob-secret", Allow: []string{"/api"}}},
		Now:  now,
	})
	require.NoError(t, err)
	return a
}

// whoami answers with the authenticated client.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	fmt.Fprint(w, middleware.RecordFrom(r.Context()).Client)
})

func TestAuthAPIKeys(t *testing.T) {
	h := newAuth(t, nil).Wrap(whoami)
	cases := []struct {
		name, path, key string
		code            int
		body            string
	}{
		{"no key", "/api/x", "", 401, "unauthorized: no credentials: send an API key in X-Api-Key or sign the request\n"},
		{"wrong key", "/api/x", "alice-kez", 401, "unauthorized: invalid API key\n"},
		{"a prefix of a key", "/api/x", "alice", 401, "unauthorized: invalid API key\n"},
		{"a key and one more byte", "/api/x", "alice-key!", 401, "unauthorized: invalid API key\n"},
		{"longer than any key", "/api/x", strings.Repeat("alice-key", 30), 401, "unauthorized: invalid API key\n"},
		{"right key", "/api/x", "alice-key", 200, "alice"},
		{"right key, path not allowed", "/admin", "alice-key", 403, "forbidden: client alice may not use /admin\n"},
		{"right key, prefix without its slash", "/apiary", "alice-key", 403, "forbidden: client alice may not use /apiary\n"},
		{"a key allowed everywhere", "/admin", "admin-key", 200, "admin"},
		{"limited key, .. out of its prefix", "/api/../admin", "alice-key", 400,
			"bad request: client alice may use only some paths, and /api/../admin has a . or .. segment\n"},
		{"limited key, .. encoded", "/api/%2e%2e/admin", "alice-key", 400,
			"bad request: client alice may use only some paths, and /api/../admin has a . or .. segment\n"},
		{"limited key, . segment", "/api/./x", "alice-key", 400,
			"bad request: client alice may use only some paths, and /api/./x has a . or .. segment\n"},
		{"limited key, .. as Tomcat reads it", "/api/..;/admin", "alice-key", 400,
			"bad request: client alice may use only some paths, and /api/..;/admin has a . or .. segment\n"},
		{"limited key, .. as IIS reads it", `/api/..\admin`, "alice-key", 400,
			"bad request: client alice may use only some paths, and /api/..\\admin has a . or .. segment\n"},
		{"limited key, .. as IIS reads it, encoded", "/api/..%5Cadmin", "alice-key", 400,
			"bad request: client alice may use only some paths, and /api/..\\admin has a . or .. segment\n"},
		// Stricter than Tomcat, to which %3B is no ';': never looser.
		{"limited key, .. before an encoded ;", "/api/..%3Bx/admin", "alice-key", 400,
			"bad request: client alice may use only some paths, and /api/..;x/admin has a . or .. segment\n"},
		{"limited key, dots inside a name", "/api/a..b/.x", "alice-key", 200, "alice"},
		{"limited key, parameters on a name", "/api/a;v=..", "alice-key", 200, "alice"},
		{"a key allowed everywhere, .. passed on", "/api/../admin", "admin-key", 200, "admin"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var header []string
			if tc.key != "" {
				header = []string{middleware.HeaderAPIKey, tc.key}
			}
			rec := get(h, tc.path, header...)
			assert.Equal(t, tc.code, rec.Code)
			assert.Equal(t, tc.body, rec.Body.String())
			if tc.code == 401 {
				assert.NotEmpty(t, rec.Header().Get("WWW-Authenticate"), "a 401 must say how to authenticate")
			}
		})
	}
}

func TestAuthHMAC(t *testing.T) {
	clk := newClock()
	h := newAuth(t, clk.Now).Wrap(whoami)
	sign := func(id string, secret middleware.Secret, uri string, at time.Time) string {
		return middleware.Sign(id, secret, "GET", uri, at)
	}
	now := clk.Now()
	cases := []struct {
		name, path, authorization string
		code                      int
		body                      string
	}{
		{"signed", "/api/x?q=1", sign("bob", "bob-secret", "/api/x?q=1", now), 200, "bob"},
		{"signed a minute ago", "/api/x", sign("bob", "bob-secret", "/api/x", now.Add(-time.Minute)), 200, "bob"},
		// Signed as sent: the request target a client wrote, not Go's
		// re-escaping of it ("/api/a%7Cb"), which the client never saw.
		{"signed, a | in the path", "/api/a|b", sign("bob", "bob-secret", "/api/a|b", now), 200, "bob"},
		{"signed, a raw UTF-8 path", "/api/\u00fc", sign("bob", "bob-secret", "/api/\u00fc", now), 200, "bob"},
		{"signed for another path", "/api/y", sign("bob", "bob-secret", "/api/x", now), 401, "unauthorized: invalid signature\n"},
		{"signed for another query", "/api/x?q=2", sign("bob", "bob-secret", "/api/x?q=1", now), 401, "unauthorized: invalid signature\n"},
		{"wrong secret", "/api/x", sign("bob", "guess", "/api/x", now), 401, "unauthorized: invalid signature\n"},
		{"unknown id", "/api/x", sign("eve", "bob-secret", "/api/x", now), 401, "unauthorized: invalid signature\n"},
		{"unknown id, signed with no secret", "/api/x", sign("eve", "", "/api/x", now), 401, "unauthorized: invalid signature\n"},
		{"a timestamp that is no number", "/api/x", strings.Replace(sign("bob", "bob-secret", "/api/x", now), "ts=", "ts=x", 1), 401, "unauthorized: invalid signature\n"},
		{"replayed an hour later", "/api/x", sign("bob", "bob-secret", "/api/x", now.Add(-time.Hour)), 401,
			"unauthorized: signature expired: the timestamp is too far from the gateway's clock\n"},
		{"not hex", "/api/x", "GW-HMAC-SHA256 id=bob,ts=1735732800,sig=zz", 401, "unauthorized: invalid signature\n"},
		// RFC 9110, section 11.1: the scheme's name is case-insensitive.
		{"scheme in lower case", "/api/x", strings.ToLower(middleware.SchemeHMAC) + strings.TrimPrefix(sign("bob", "bob-secret", "/api/x", now), middleware.SchemeHMAC), 200, "bob"},
		{"another scheme", "/api/x", "Basic Ym9iOmJvYi1zZWNyZXQ=", 401, "unauthorized: unsupported Authorization scheme: want GW-HMAC-SHA256\n"},
		{"signed, path not allowed", "/admin", sign("bob", "bob-secret", "/admin", now), 403, "forbidden: client bob may not use /admin\n"},
		{"signed, .. out of its prefix", "/api/%2E%2E/admin", sign("bob", "bob-secret", "/api/%2E%2E/admin", now), 400,
			"bad request: client bob may use only some paths, and /api/../admin has a . or .. segment\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(h, tc.path, "Authorization", tc.authorization)
			assert.Equal(t, tc.code, rec.Code)
			assert.Equal(t, tc.body, rec.Body.String())
		})
	}
}

// TestASignatureIsGoodForMaxSkewEitherSideOfTheClock: a timestamp up to
// MaxSkew (5 minutes by default) behind or ahead of the gateway's clock
// is accepted, one second more either way is not, and a MaxSkew given is
// used instead of the default.
func TestASignatureIsGoodForMaxSkewEitherSideOfTheClock(t *testing.T) {
	clk := newClock()
	for _, maxSkew := range []time.Duration{0, 30 * time.Second} {
		a, err := middleware.NewAuth(middleware.AuthConfig{
			HMAC:    []middleware.Credential{{ID: "bob", Secret: "bob-secret"}},
			MaxSkew: maxSkew,
			Now:     clk.Now,
		})
		require.NoError(t, err)
		h := a.Wrap(whoami)
		limit := cmp.Or(maxSkew, 5*time.Minute)
		for _, off := range []time.Duration{-limit - time.Second, -limit, limit, limit + time.Second} {
			signed := clk.Now().Add(off)
			rec := get(h, "/x", "Authorization", middleware.Sign("bob", "bob-secret", "GET", "/x", signed))
			want := http.StatusOK
			if off.Abs() > limit {
				want = http.StatusUnauthorized
			}
			assert.Equal(t, want, rec.Code, "MaxSkew %v, signed %v from the gateway's clock", maxSkew, off)
		}
	}
}

// TestAuthRecordsWhoWasRefused: a 403 (or a 400) is logged with the
// client auth recognised, not with client="".
func TestAuthRecordsWhoWasRefused(t *testing.T) {
	var logs logBuffer
	h := onion.Chain{middleware.AccessLog(logs.Logger()), newAuth(t, nil).Wrap}.Then(whoami)
	assert.Equal(t, 403, get(h, "/admin", middleware.HeaderAPIKey, "alice-key").Code)
	assert.Equal(t, 400, get(h, "/api/../admin", middleware.HeaderAPIKey, "alice-key").Code)
	var clients []any
	for _, e := range logs.Entries(t) {
		clients = append(clients, e["client"])
	}
	assert.Equal(t, []any{"alice", "alice"}, clients)
}

func TestSecretsNeverPrint(t *testing.T) {
	cred := middleware.Credential{ID: "alice", Secret: "alice-key"}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "cred", cred, "secret", cred.Secret)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "cred", cred, "secret", cred.Secret)
	printed := []string{fmt.Sprint(cred), fmt.Sprintf("%+v", cred), fmt.Sprintf("%#v", cred), logged.String()}
	for _, verb := range []string{"%d", "%t", "%x", "%q", "%s", "%10.3v"} { // fmt's fallback for a verb a string lacks shows the value
		printed = append(printed, fmt.Sprintf(verb, cred), fmt.Sprintf(verb, cred.Secret))
	}
	for _, s := range printed {
		assert.NotContains(t, s, "alice-key")
		assert.Contains(t, s, "[redacted]")
	}
}

func TestNewAuthRejectsBadCredentials(t *testing.T) {
	for _, cfg := range []middleware.AuthConfig{
		{APIKeys: []middleware.Credential{{ID: "a"}}},
		{APIKeys: []middleware.Credential{{Secret: "s"}}},
		{HMAC: []middleware.Credential{{ID: "a"}}}, // anyone could sign with an empty secret
		{HMAC: []middleware.Credential{{Secret: "s"}}},
		{HMAC: []middleware.Credential{{ID: "a", Secret: "s"}, {ID: "a", Secret: "t"}}},
	} {
		_, err := middleware.NewAuth(cfg)
		assert.True(t, errors.Is(err, middleware.ErrBadCredential), "%v", err)
	}
}

// TestAuthKeysOfOtherLengths: keys are compared padded to the longest
// one's length, so a key padded with zeros must not match, and a key
// longer than the stack buffer byKey uses must work.
func TestAuthKeysOfOtherLengths(t *testing.T) {
	long := strings.Repeat("0123456789", 30)
	a, err := middleware.NewAuth(middleware.AuthConfig{APIKeys: []middleware.Credential{
		{ID: "short", Secret: "abc"}, {ID: "long", Secret: middleware.Secret(long)},
	}})
	require.NoError(t, err)
	h := a.Wrap(whoami)
	for key, want := range map[string]string{
		"abc": "short", "abc\x00": "", "ab": "", "abd": "", "\x00\x00\x00": "",
		long: "long", long[:len(long)-1]: "", long + "0": "", long[:len(long)-1] + "x": "", long + "\x00": "",
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set(middleware.HeaderAPIKey, key)
		rec := do(h, req)
		if want == "" {
			assert.Equal(t, http.StatusUnauthorized, rec.Code, "%q", key)
		} else {
			assert.Equal(t, http.StatusOK, rec.Code, "%q", key)
			assert.Equal(t, want, rec.Body.String(), "%q", key)
		}
	}
}

// TestAuthChallengeNamesTheConfiguredSchemes checks a 401's
// WWW-Authenticate: it names the ways to authenticate that this Auth
// accepts, so a client is not sent to sign requests nobody can verify.
func TestAuthChallengeNamesTheConfiguredSchemes(t *testing.T) {
	keys := []middleware.Credential{{ID: "alice", Secret: "alice-key"}}
	signers := []middleware.Credential{{ID: "bob", Secret: "bob-secret"}}
	apiKey := `ApiKey header="` + middleware.HeaderAPIKey + `"`
	cases := []struct {
		name string
		cfg  middleware.AuthConfig
		want string
	}{
		{"API keys only", middleware.AuthConfig{APIKeys: keys}, apiKey},
		{"HMAC only", middleware.AuthConfig{HMAC: signers}, middleware.SchemeHMAC},
		{"both", middleware.AuthConfig{APIKeys: keys, HMAC: signers}, apiKey + ", " + middleware.SchemeHMAC},
		{"neither: a 401 still needs a challenge", middleware.AuthConfig{}, apiKey + ", " + middleware.SchemeHMAC},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := middleware.NewAuth(tc.cfg)
			require.NoError(t, err)
			rec := get(a.Wrap(whoami), "/api/x")
			require.Equal(t, http.StatusUnauthorized, rec.Code)
			assert.Equal(t, tc.want, rec.Header().Get("WWW-Authenticate"))
		})
	}
}

// TestNewAuthRejectsAKeyGivenTwice: two API keys with one secret cannot
// be told apart, and the request would be the last one's, with its
// allow-list: a key limited to /public, given again to a client allowed
// everything, would be allowed everything.
func TestNewAuthRejectsAKeyGivenTwice(t *testing.T) {
	_, err := middleware.NewAuth(middleware.AuthConfig{APIKeys: []middleware.Credential{
		{ID: "guest", Secret: "k", Allow: []string{"/public"}},
		{ID: "admin", Secret: "k"},
	}})
	assert.ErrorIs(t, err, middleware.ErrKeyGivenTwice)
	assert.NotContains(t, fmt.Sprint(err), `"k"`, "the error names the credentials, not their key")

	// One client with two keys (a key being replaced) is fine.
	_, err = middleware.NewAuth(middleware.AuthConfig{APIKeys: []middleware.Credential{
		{ID: "guest", Secret: "old"}, {ID: "guest", Secret: "new"},
	}})
	assert.NoError(t, err)
}

// TestNewAuthRejectsPrefixesNoPathIsJudgedBy: an allowed prefix is a path
// in normal form, as a route's path is. An empty one (a list item left
// blank in YAML) would allow every path to a client meant to be limited;
// "public" or "/a/../b" would allow none; "/a;b" or "//a" would allow a
// path that Tomcat, or a server that merges slashes, serves as /a.
func TestNewAuthRejectsPrefixesNoPathIsJudgedBy(t *testing.T) {
	for _, p := range []string{"", "public", "/a;b", "//a", "/a//b", `/a\b`, "/a/../b", "/a/./b", "/a/..", "/."} {
		for _, cfg := range []middleware.AuthConfig{
			{APIKeys: []middleware.Credential{{ID: "a", Secret: "k", Allow: []string{"/ok", p}}}},
			{HMAC: []middleware.Credential{{ID: "a", Secret: "k", Allow: []string{"/ok", p}}}},
		} {
			_, err := middleware.NewAuth(cfg)
			assert.ErrorIs(t, err, middleware.ErrBadPrefix, "%q", p)
		}
	}
	for _, p := range []string{"/", "/public", "/public/", "/a.b/..c/.d"} {
		_, err := middleware.NewAuth(middleware.AuthConfig{APIKeys: []middleware.Credential{{ID: "a", Secret: "k", Allow: []string{p}}}})
		assert.NoError(t, err, "%q", p)
	}
}

// TestNewAuthRejectsAnEscapedPrefix: prefixes are compared with the
// request's path decoded (r.URL.Path), so "/a%20b" would allow only a
// request that sent "/a%2520b", never one for "/a%20b": the client would
// be refused, and nothing would say why. The character itself is what
// works: "/a b" allows a request for /a%20b. A '%' that starts no escape
// is the character itself: "/100%" allows a request for /100%25.
func TestNewAuthRejectsAnEscapedPrefix(t *testing.T) {
	for _, p := range []string{"/a%20b", "/%7euser", "/50%25off", "/a%2Fb/", "/b%20"} {
		for _, cfg := range []middleware.AuthConfig{
			{APIKeys: []middleware.Credential{{ID: "a", Secret: "k", Allow: []string{"/ok", p}}}},
			{HMAC: []middleware.Credential{{ID: "a", Secret: "k", Allow: []string{"/ok", p}}}},
		} {
			_, err := middleware.NewAuth(cfg)
			assert.ErrorIs(t, err, middleware.ErrBadPrefix, "%q", p)
			assert.ErrorContains(t, err, "prefixes match the request's path decoded", "%q", p)
		}
	}

	a, err := middleware.NewAuth(middleware.AuthConfig{APIKeys: []middleware.Credential{{ID: "a", Secret: "k", Allow: []string{"/a b", "/100%", "/x%4"}}}})
	require.NoError(t, err)
	h := a.Wrap(whoami)
	for path, code := range map[string]int{
		"/a%20b/x": 200, "/a%20b": 200, "/a%2520b": 403,
		"/100%25": 200, "/100%2525": 403, "/x%254/y": 200,
	} {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set(middleware.HeaderAPIKey, "k")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		assert.Equal(t, code, w.Code, "%s", path)
	}
}
