package meta

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxKeyLen is the longest key, in bytes, as in S3.
const MaxKeyLen = 1024

// ErrBadKey is returned for a key the store refuses to name an object.
var ErrBadKey = errors.New("bad object key")

// ValidateKey refuses keys that would be ambiguous or dangerous further
// on: keys that are empty or too long, that are not valid UTF-8, that
// contain control characters (a NUL also separates a key from its version
// number in the database), and keys with a "." or ".." segment, which
// paths, URLs and proxies rewrite ("a/../b" is "b" to most of them).
func ValidateKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty", ErrBadKey)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("%w: %d bytes, longer than %d", ErrBadKey, len(key), MaxKeyLen)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: not valid UTF-8", ErrBadKey)
	case strings.IndexFunc(key, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: contains a control character", ErrBadKey)
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "." || seg == ".." {
			return fmt.Errorf("%w: has a %q path segment", ErrBadKey, seg)
		}
	}
	return nil
}
