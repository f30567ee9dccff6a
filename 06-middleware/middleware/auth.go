package middleware

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers and scheme of the two ways to authenticate.
const (
	HeaderAPIKey = "X-Api-Key"
	SchemeHMAC   = "GW-HMAC-SHA256" // Authorization: GW-HMAC-SHA256 id=ID,ts=UNIX,sig=HEX

	headerAuthorization = "Authorization"
)

// Credential is one client's: its name (public: it goes into logs and
// into HMAC headers), its secret, and the path prefixes it may use (none
// means every path; each a path in normal form, see ErrBadPrefix).
type Credential struct {
	ID     string
	Secret Secret
	Allow  []string
}

// AuthConfig configures Auth.
type AuthConfig struct {
	APIKeys []Credential // a client sends its Secret in X-Api-Key
	HMAC    []Credential // a client signs its requests with its Secret (Sign)

	// MaxSkew is how far a signed request's timestamp may be from Now
	// (0: DefaultMaxSkew). It bounds replay, it does not prevent it: a
	// captured request can be sent again within MaxSkew, with any body,
	// since only the method, the request URI and the time are signed.
	MaxSkew time.Duration
	Now     func() time.Time
}

// DefaultMaxSkew is an AuthConfig's MaxSkew when it leaves it 0.
const DefaultMaxSkew = 5 * time.Minute

// Auth authenticates requests by API key or by HMAC signature.
//
// It answers 401 Unauthorized when it cannot tell who the client is (no
// credentials, a wrong key, a bad or stale signature), with a
// WWW-Authenticate header naming the ways to authenticate, and 403
// Forbidden when it can, but the client may not use this path: trying
// again with the same credentials will not help.
//
// Keys are compared in constant time (crypto/subtle, hmac.Equal), so the
// time an answer takes does not tell an attacker how much of a guess was
// right. No secret is ever logged or echoed in a response.
type Auth struct {
	keys   []apiKey
	keyLen int // the longest key's length
	hmac   map[string]Credential
	// challenge is the WWW-Authenticate of a 401: the schemes a client
	// can use here, and only those.
	challenge string
	maxSkew   time.Duration
	now       func() time.Time
}

type apiKey struct {
	padded []byte // the key, then zeros up to the longest key's length
	length int    // the key's own length
	cred   Credential
}

// keyBufferSize is the length of the longest keys compared with a buffer
// on the stack; longer ones allocate one per request.
const keyBufferSize = 128

// NewAuth returns an Auth for cfg. A credential with no ID or no secret,
// two HMAC credentials with one ID, two API keys with one secret
// (ErrKeyGivenTwice), or an allowed prefix that is not a path in normal
// form (ErrBadPrefix) is an error.
func NewAuth(cfg AuthConfig) (*Auth, error) {
	a := &Auth{hmac: map[string]Credential{}, maxSkew: cfg.MaxSkew, now: cfg.Now}
	if a.maxSkew <= 0 {
		a.maxSkew = DefaultMaxSkew
	}
	if a.now == nil {
		a.now = time.Now
	}
	byKey := map[Secret]string{} // the ID given each key
	for _, c := range cfg.APIKeys {
		if c.ID == "" || c.Secret == "" {
			return nil, fmt.Errorf("auth: API key %q: %w", c.ID, ErrBadCredential)
		}
		if other, dup := byKey[c.Secret]; dup {
			return nil, fmt.Errorf("auth: API keys %q and %q: %w", other, c.ID, ErrKeyGivenTwice)
		}
		byKey[c.Secret] = c.ID
		if err := checkAllow("API key", c); err != nil {
			return nil, err
		}
		a.keyLen = max(a.keyLen, len(c.Secret))
	}
	for _, c := range cfg.APIKeys {
		padded := make([]byte, a.keyLen)
		copy(padded, c.Secret)
		a.keys = append(a.keys, apiKey{padded: padded, length: len(c.Secret), cred: c})
	}
	for _, c := range cfg.HMAC {
		if _, dup := a.hmac[c.ID]; dup || c.ID == "" || c.Secret == "" {
			return nil, fmt.Errorf("auth: HMAC credential %q: %w", c.ID, ErrBadCredential)
		}
		if err := checkAllow("HMAC credential", c); err != nil {
			return nil, err
		}
		a.hmac[c.ID] = c
	}
	a.challenge = challenge(len(a.keys) > 0, len(a.hmac) > 0)
	return a, nil
}

// challenge is the WWW-Authenticate value naming the ways to
// authenticate: API keys, HMAC signatures, or both. With neither
// configured nobody can get in, but a 401 must still carry a challenge
// (RFC 9110, section 11.6.1): both are named then.
func challenge(keys, hmac bool) string {
	apiKey := `ApiKey header="` + HeaderAPIKey + `"`
	switch {
	case keys && !hmac:
		return apiKey
	case hmac && !keys:
		return SchemeHMAC
	}
	return apiKey + ", " + SchemeHMAC
}

// ErrBadCredential is a credential NewAuth cannot use: no ID, no secret,
// or an ID given twice.
var ErrBadCredential = errors.New("a credential needs a unique ID and a secret")

// ErrKeyGivenTwice is two API keys with one secret. Auth could not tell
// which client sent it, and would take it for the last one, with its
// allow-list. One client may have two keys (while one replaces the
// other), under one ID.
var ErrKeyGivenTwice = errors.New("two credentials have the same key: give each client its own")

// ErrBadPrefix is an allowed path prefix no path is judged by as it reads:
// it must start with "/" and be in the normal form the gateway routes by,
// with no "//", '\', ';' or "." or ".." segment. Written so, it would
// allow nothing ("public", "/a/../b"), or a path a server serves as
// another ("/a;b/x" is /a/x to Tomcat), or every path: "" (a list item
// left empty), since every path starts with it. Nor may it have a
// %-escape: prefixes are compared with the request's path decoded, so
// "/a%20b" would allow only a request that sent "/a%2520b". A '%' that
// starts no escape ("/100%") is the character itself, and allowed.
var ErrBadPrefix = errors.New(`an allowed prefix is a path in normal form: it starts with "/", and has no "//", '\', ';', "." or ".." segment`)

// checkAllow returns an error for the first of c's allowed prefixes that
// is not a path in normal form, or has a %-escape (ErrBadPrefix).
func checkAllow(kind string, c Credential) error {
	for _, p := range c.Allow {
		bad := !strings.HasPrefix(p, "/") || strings.Contains(p, "//") || strings.ContainsAny(p, `;\`)
		for seg := range strings.SplitSeq(p, "/") {
			bad = bad || seg == "." || seg == ".."
		}
		if bad {
			return fmt.Errorf("auth: %s %q: allow %q: %w", kind, c.ID, p, ErrBadPrefix)
		}
		if HasEscape(p) {
			return fmt.Errorf("auth: %s %q: allow %q has a %%-escape, but prefixes match the request's path decoded (a request for /a%%20b is judged as /a b); write the character itself: %w", kind, c.ID, p, ErrBadPrefix)
		}
	}
	return nil
}

// Wrap is the middleware. Once it knows the client it records its ID in
// the Record (for the access log, and for a rate limit keyed by client).
//
// For a client limited to some paths, a path with a "." or ".." segment
// is a 400: the allow-list would judge /b/../a as under /b, and an
// upstream that cleans paths would serve /a. A client allowed every path
// gets such paths through, for the upstream to judge.
func (a *Auth) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cred, reason := a.authenticate(r)
		if reason != "" {
			w.Header().Set("WWW-Authenticate", a.challenge)
			http.Error(w, "unauthorized: "+reason, http.StatusUnauthorized)
			return
		}
		r, rec := withRecord(r)
		rec.Client = cred.ID // the access log names who was refused too
		if len(cred.Allow) > 0 && hasDotSegment(r.URL.Path) {
			http.Error(w, fmt.Sprintf("bad request: client %s may use only some paths, and %s has a . or .. segment", cred.ID, r.URL.Path), http.StatusBadRequest)
			return
		}
		if !allowed(cred.Allow, r.URL.Path) {
			http.Error(w, fmt.Sprintf("forbidden: client %s may not use %s", cred.ID, r.URL.Path), http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// authenticate returns the request's credential, or why there is none.
func (a *Auth) authenticate(r *http.Request) (Credential, string) {
	if key := headerValue(r.Header, HeaderAPIKey); key != "" {
		return a.byKey(key)
	}
	if h := headerValue(r.Header, headerAuthorization); h != "" {
		return a.bySignature(r, h)
	}
	return Credential{}, "no credentials: send an API key in " + HeaderAPIKey + " or sign the request"
}

// byKey compares the key sent with every key, in constant time, without
// stopping at a match, so that the time it takes does not depend on which
// key matched, nor on how much of a guess was right, nor on the keys'
// lengths.
//
// subtle.ConstantTimeCompare alone returns at once when the lengths
// differ: an attacker timing guesses of every length would learn a key's.
// Hashing both sides first (SHA-256) is the usual cure, every comparison
// then being of 32 bytes, but it costs a hash per request. Here every key
// is padded with zeros to the longest key's length, once, at start-up, the
// key sent is copied (cut, if longer) into a buffer of that length, and
// each comparison is of all the bytes plus, also in constant time, of the
// lengths: so "abc" never matches "abc\x00". The time depends on the
// number of keys and the longest one's length, which no guess changes,
// and on the length of the key sent, which its sender knows.
func (a *Auth) byKey(key string) (Credential, string) {
	var buf [keyBufferSize]byte
	sent := buf[:]
	if a.keyLen > len(buf) {
		sent = make([]byte, a.keyLen)
	}
	sent = sent[:a.keyLen]
	clear(sent[copy(sent, key):])
	// A longer key than any matches none; the length compared is capped
	// so that it fits the int32 ConstantTimeEq takes.
	length := int32(min(len(key), a.keyLen+1))
	found := -1
	for i := range a.keys {
		if subtle.ConstantTimeCompare(sent, a.keys[i].padded)&subtle.ConstantTimeEq(length, int32(a.keys[i].length)) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Credential{}, "invalid API key"
	}
	return a.keys[found].cred, ""
}

func (a *Auth) bySignature(r *http.Request, header string) (Credential, string) {
	// The scheme's name is case-insensitive (RFC 9110, section 11.1).
	scheme, params, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, SchemeHMAC) {
		return Credential{}, "unsupported Authorization scheme: want " + SchemeHMAC
	}
	var id, ts, sig string
	for _, kv := range strings.Split(params, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		switch k {
		case "id":
			id = v
		case "ts":
			ts = v
		case "sig":
			sig = v
		}
	}
	cred, known := a.hmac[id]
	unix, err := strconv.ParseInt(ts, 10, 64)
	if !known || err != nil || sig == "" {
		return Credential{}, "invalid signature"
	}
	if skew := a.now().Sub(time.Unix(unix, 0)); skew > a.maxSkew || skew < -a.maxSkew {
		return Credential{}, "signature expired: the timestamp is too far from the gateway's clock"
	}
	want := signature(cred.Secret, r.Method, signedURI(r), unix)
	got, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(got, want) {
		return Credential{}, "invalid signature"
	}
	return cred, ""
}

// signedURI is the path and query as the client sent them (the request
// target), which is what it signed. r.URL.RequestURI() would escape again
// what the client sent unescaped ("/a|b" becomes "/a%7Cb"), and its
// signature would not match. A target that is not a path (the absolute
// form, "http://host/a") or none (a request made in the process) falls
// back to r.URL's path and query.
func signedURI(r *http.Request) string {
	if strings.HasPrefix(r.RequestURI, "/") {
		return r.RequestURI
	}
	return r.URL.RequestURI()
}

// Sign returns the Authorization header value that signs a request with
// secret at time t. The signature covers the method, the path and query
// (requestURI, exactly as the request will send it), and the time; not
// the body, which the gateway streams without reading.
func Sign(id string, secret Secret, method, requestURI string, t time.Time) string {
	sig := signature(secret, method, requestURI, t.Unix())
	return fmt.Sprintf("%s id=%s,ts=%d,sig=%s", SchemeHMAC, id, t.Unix(), hex.EncodeToString(sig))
}

func signature(secret Secret, method, requestURI string, unix int64) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%s\n%s\n%d", method, requestURI, unix)
	return m.Sum(nil)
}

// hasDotSegment reports whether path has a "." or ".." segment. The
// allow-list compares the path as sent, and nothing after it resolves
// dot segments: the proxy, and Go's client, forward /b/../a as it is.
// An upstream that cleans paths would then serve /a to a client allowed
// only /b. r.URL.Path is decoded, so /b/%2e%2e/a is caught too. Segments
// are read as the upstreams most lenient about them read them: a
// backslash ends one (IIS), and so does a ';' (Tomcat and Jetty take
// /b/..;/a for /b/../a). The ';' is looked for in the decoded path, so an
// encoded one ends a segment too, which it does not to Tomcat: /b/..%3Bx
// is refused though no server takes it for "..". Stricter than needed,
// never looser: any ".." Tomcat finds, after dropping what follows a raw
// ';', is a whole segment here, or one cut at its first ';'.
func hasDotSegment(path string) bool {
	for seg := range strings.FieldsFuncSeq(path, func(c rune) bool { return c == '/' || c == '\\' }) {
		seg, _, _ = strings.Cut(seg, ";")
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// allowed reports whether path is under one of the prefixes (any path if
// there are none).
func allowed(prefixes []string, path string) bool {
	if len(prefixes) == 0 {
		return true
	}
	for _, p := range prefixes {
		if path == p || strings.HasPrefix(path, strings.TrimSuffix(p, "/")+"/") {
			return true
		}
	}
	return false
}
