package proxy

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// ErrBadTarget is returned by ParseTarget for a URL a proxy cannot forward to.
var ErrBadTarget = errors.New("bad target URL")

// ParseTarget parses a backend's base URL such as http://127.0.0.1:9001 and
// rejects what url.Parse accepts but a proxy cannot use: an empty string, a
// missing scheme or host (a port alone, as in http://:9001, is not a
// host), a scheme other than http or https, a port out of range,
// credentials (user:password@). Every error wraps ErrBadTarget and says
// what a good URL looks like.
//
// url.Parse is lenient on purpose: "localhost:9001" parses as scheme
// "localhost" and "127.0.0.1:9001" fails with a message about a colon in a
// path. Both are the same mistake, a forgotten http://, so both say so.
func ParseTarget(s string) (*url.URL, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: empty; want a URL such as http://127.0.0.1:9001", ErrBadTarget)
	}
	shown := masked(s) // every message shows this, never a password
	// A "://" further on (?next=http://x) does not make a scheme.
	if schemeEnd(s) < 0 {
		return nil, fmt.Errorf("%w %q: no scheme; did you mean http://%s?", ErrBadTarget, shown, shown)
	}
	u, err := url.Parse(s)
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		err = ue.Err // without the URL, which it quotes whole
	}
	if err != nil && shown != s {
		// The reason may quote part of the password: "http://u:pa/ss@h"
		// parses "pa" as a port, a bad escape in it is quoted.
		err = errors.New("it does not parse as a URL (the reason would show the password)")
	}
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w %q: %v", ErrBadTarget, shown, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%w %q: scheme %q; want a URL that starts with http:// or https://", ErrBadTarget, shown, u.Scheme)
	case u.Hostname() == "":
		// "http://:9001" has a port but no host name: Go dials this
		// machine, and a proxy that sends the target's Host (stage 03's
		// SetURL) sends ":9001", which names no host.
		return nil, fmt.Errorf("%w %q: no host; want a URL such as http://127.0.0.1:9001", ErrBadTarget, shown)
	case u.User != nil:
		// A reverse proxy copies the target's scheme, host and path into
		// each request, not its user info: the backend would never see
		// the credentials, while every log line and health report that
		// names the target would show them.
		return nil, fmt.Errorf("%w %q: credentials (user:password@) are not sent to the backend by a proxy, and would show wherever the target is named; leave them out", ErrBadTarget, shown)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%w %q: port %s; want a number from 1 to 65535", ErrBadTarget, shown, p)
		}
	}
	return u, nil
}

// masked returns s with the password of its user info, if it has one,
// replaced by "xxxxx", as url.URL.Redacted does, but for any string, one
// that does not parse included: error messages end up in logs. The user
// info ends at the last "@": a password may hold "/", "?" or "#", which
// url.Parse would not take as part of it. (So a target with "@" in its
// path may be shown over-masked: better than a password shown.) The user
// info starts after the scheme's "://", or at the start of s when s does
// not begin with a scheme: a "://" further on, as in
// user:pw@host/?next=http://x, is not one.
func masked(s string) string {
	start := 0
	if i := schemeEnd(s); i >= 0 {
		start = i + len("://")
	}
	at := strings.LastIndexByte(s[start:], '@')
	if at < 0 {
		return s
	}
	colon := strings.IndexByte(s[start:start+at], ':')
	if colon < 0 {
		return s
	}
	return s[:start+colon+1] + "xxxxx" + s[start+at:]
}

// schemeEnd returns the index of the "://" that ends s's scheme, or -1
// when s does not start with one: a scheme is a letter, then letters,
// digits, "+", "-" or "." (RFC 3986, section 3.1), so the "://" of
// user:pw@host/?next=http://x is not a scheme's.
func schemeEnd(s string) int {
	i := strings.Index(s, "://")
	if i <= 0 {
		return -1
	}
	for j, c := range s[:i] {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case j > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return -1
		}
	}
	return i
}
