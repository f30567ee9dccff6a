package rewrite

import (
	"fmt"
	"net/http"
	"strings"
)

// mustBeFields panics unless every name in h is a token (RFC 9110,
// sections 5.1 and 5.6.2) and every value free of control characters
// but the tab (section 5.5 calls them invalid; CR, LF and NUL
// dangerous): what the Header and ResponseHeader options add must be
// something net/http can send, and its Transport refuses a request
// whose value holds any of them, DEL (0x7f) too. A request with a bad
// name or value fails in the transport, every one of them, with a 502
// that blames the backend; a value with a line break could split the
// header in two. That is a programming error, caught
// when the proxy is built, as a nil target is.
func mustBeFields(option string, h http.Header) {
	for name, values := range h {
		if !isToken(name) {
			panic(fmt.Sprintf("rewrite: Options.%s: %q is not a header field name", option, name))
		}
		for _, v := range values {
			if strings.ContainsFunc(v, isCTL) {
				panic(fmt.Sprintf("rewrite: Options.%s: the value of %s holds a control character (CR, LF, NUL, DEL, ...)", option, name))
			}
		}
	}
}

// isToken reports whether s is a token: one or more of the characters
// RFC 9110 allows in a field name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// isCTL reports whether r is a control character a field value may not
// hold: any but the tab, as net/http's Transport reads them.
func isCTL(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }
