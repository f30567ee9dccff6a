package meta

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// MaxAddrLen is the longest data server address accepted, in bytes: far
// more than a scheme, a host name (at most 253 bytes) and a port need.
const MaxAddrLen = 512

// ErrBadAddr is returned for a data server address that is not a base URL.
var ErrBadAddr = errors.New("not a base URL such as http://127.0.0.1:9101")

// CheckAddr reports whether addr can name a data server: an http or
// https URL with a host and nothing else. Servers build requests by
// appending a path ("/blobs/" + hash), so a path, a query or a fragment
// would send them somewhere else (http://h?x + /blobs/H asks h for "/"),
// and user information would be sent along as credentials.
func CheckAddr(addr string) error {
	if len(addr) > MaxAddrLen {
		return fmt.Errorf("address of %d bytes, longer than %d: %w", len(addr), MaxAddrLen, ErrBadAddr)
	}
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.Opaque != "" || u.User != nil || u.Path != "" || strings.ContainsAny(addr, "?#") {
		return fmt.Errorf("%q: %w", truncate(addr), ErrBadAddr)
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
