package middleware

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// directives is what a Cache-Control field says that Cache reads
// (RFC 9111, section 5.2). Directive names are case-insensitive; a
// directive this layer does not know is ignored, as the RFC asks.
type directives struct {
	noStore, noCache, private, public bool
	mustRevalidate, onlyIfCached      bool
	maxAge, sMaxAge                   time.Duration // -1: absent
	invalid                           bool          // an age that cannot be read, or one given twice
}

// maxDelta is the largest delta-seconds a cache must count to
// (RFC 9111, section 1.2.2): 2^31 s, about 68 years. Larger values mean it.
const maxDelta = 1 << 31 * time.Second

// parseDirectives reads every Cache-Control line of h.
func parseDirectives(h http.Header) directives {
	d := directives{maxAge: -1, sMaxAge: -1}
	for _, line := range h["Cache-Control"] {
		for rest := line; rest != ""; {
			var item string
			var ok bool
			if item, rest, ok = cutDirective(rest); !ok {
				d.invalid = true // a quote never closed: what it hides cannot be told
			}
			name, value, hasValue := strings.Cut(strings.TrimSpace(item), "=")
			name = strings.ToLower(strings.TrimSpace(name))
			if name == "" {
				continue
			}
			switch name {
			case "no-store":
				d.noStore = true
			case "no-cache": // with or without a field list: either way not reused unchecked
				d.noCache = true
			case "private": // with or without a field list
				d.private = true
			case "public":
				d.public = true
			case "must-revalidate": // not proxy-revalidate, which RFC 9111, section 3.5 does not count
				d.mustRevalidate = true
			case "only-if-cached":
				d.onlyIfCached = true
			case "max-age", "s-maxage":
				secs, ok := deltaSeconds(strings.TrimSpace(value), hasValue)
				if !ok {
					d.invalid = true
					continue
				}
				p := &d.maxAge
				if name == "s-maxage" {
					p = &d.sMaxAge
				}
				if *p >= 0 {
					d.invalid = true // given twice: which one? (RFC 9111, 4.2.1: consider it stale)
				}
				*p = secs
			}
		}
	}
	return d
}

// cutDirective returns the first directive of a Cache-Control list and
// what follows its comma. A comma inside a quoted string belongs to the
// directive (RFC 9110, section 5.6.4): no-cache="Set-Cookie, Age" is one
// directive, and community="UCI, s-maxage=3600" sets no s-maxage. It
// reports false for a quoted string never closed.
func cutDirective(s string) (item, rest string, ok bool) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch {
		case quoted && s[i] == '\\':
			i++ // a quoted-pair: the next byte, whatever it is
		case s[i] == '"':
			quoted = !quoted
		case s[i] == ',' && !quoted:
			return s[:i], s[i+1:], true
		}
	}
	return s, "", !quoted
}

// deltaSeconds reads a delta-seconds value: digits only, optionally
// quoted (RFC 9111, section 5.2 allows the quoted form and asks senders
// not to use it).
func deltaSeconds(v string, present bool) (time.Duration, bool) {
	if !present {
		return 0, false
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	if v == "" {
		return 0, false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n > int64(maxDelta/time.Second) {
		return maxDelta, true // only digits: too many of them
	}
	return time.Duration(n) * time.Second, true
}

// lifetime is how long a shared cache may reuse a response with these
// directives: s-maxage, else max-age (RFC 9111, section 4.2.1). An
// Expires field, or a heuristic, would also do under the RFC; this cache
// keeps only what the origin gave a number of seconds for.
func (d directives) lifetime() (time.Duration, bool) {
	switch {
	case d.invalid:
		return 0, false
	case d.sMaxAge >= 0:
		return d.sMaxAge, true
	case d.maxAge >= 0:
		return d.maxAge, true
	}
	return 0, false
}
