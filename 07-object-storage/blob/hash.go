// Package blob stores immutable byte strings named by their SHA-256 hash:
// content addressing. Because the name is derived from the bytes, a blob
// never changes once written, two writers of the same bytes write the same
// blob, and any reader can check what it received against the name it
// asked for.
package blob

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// ErrBadHash is returned for a name that is not a SHA-256 hash written as
// exactly 64 lowercase hexadecimal digits.
var ErrBadHash = errors.New("not a SHA-256 hash (64 lowercase hex digits)")

// A Hash is the SHA-256 of a blob's content, as 64 lowercase hex digits.
// Only ParseHash and Sum make one, so a Hash is always safe to use as a
// file name: it cannot contain a slash, a dot or anything else a path
// could be built from.
type Hash string

// ParseHash checks that s is a well-formed hash. Upper case is refused
// rather than folded, so that one blob has exactly one name.
func ParseHash(s string) (Hash, error) {
	if len(s) != 2*sha256.Size {
		return "", fmt.Errorf("%q: %w", truncate(s), ErrBadHash)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", fmt.Errorf("%q: %w", truncate(s), ErrBadHash)
		}
	}
	return Hash(s), nil
}

// Sum returns the hash of data.
func Sum(data []byte) Hash {
	sum := sha256.Sum256(data)
	return Hash(hex.EncodeToString(sum[:]))
}

// Short is the hash's first 12 digits, for logs.
func (h Hash) Short() string {
	if len(h) < 12 {
		return string(h)
	}
	return string(h[:12])
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
