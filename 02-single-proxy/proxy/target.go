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
// missing scheme or host, a scheme other than http or https, a port out of
// range, credentials (user:password@). Every error wraps ErrBadTarget and
// says what a good URL looks like.
//
// url.Parse is lenient on purpose: "localhost:9001" parses as scheme
// "localhost" and "127.0.0.1:9001" fails with a message about a colon in a
// path. Both are the same mistake, a forgotten http://, so both say so.
func ParseTarget(s string) (*url.URL, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: empty; want a URL such as http://127.0.0.1:9001", ErrBadTarget)
	}
	if !strings.Contains(s, "://") {
		return nil, fmt.Errorf("%w %q: no scheme; did you mean http://%s?", ErrBadTarget, s, s)
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w %q: %v", ErrBadTarget, s, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%w %q: scheme %q; want a URL that starts with http:// or https://", ErrBadTarget, s, u.Scheme)
	case u.Host == "":
		return nil, fmt.Errorf("%w %q: no host; want a URL such as http://127.0.0.1:9001", ErrBadTarget, s)
	case u.User != nil:
		// A reverse proxy copies the target's scheme, host and path into
		// each request, not its user info: the backend would never see
		// the credentials, while every log line and health report that
		// names the target would show them. So the message too shows
		// the URL with its password masked.
		return nil, fmt.Errorf("%w %q: credentials (user:password@) are not sent to the backend by a proxy, and would show wherever the target is named; leave them out", ErrBadTarget, u.Redacted())
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%w %q: port %s; want a number from 1 to 65535", ErrBadTarget, s, p)
		}
	}
	return u, nil
}
