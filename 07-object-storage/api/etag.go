package api

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"

	"github.com/gocourse/gateway/07-object-storage/meta"
)

// etag is the ETag of version v: its blob's hash, and a digest of the
// Content-Type it is served with (quoted, a strong validator, RFC 9110,
// section 8.8.3). The hash alone would name the bytes only, and the same
// bytes put again with another type would keep it: a cache revalidating
// what it kept (a browser, which the latest version tells to revalidate
// every time) would get a 304 and go on using the old type, since a 304
// carries no Content-Type and browsers take none from it. Section 8.8.1
// allows a strong validator to change with "a semantically significant
// part of the representation metadata (e.g., Content-Type)"; here it
// must, or retyping an upload (text/html to text/plain) would not reach
// the caches that hold it. 16 hex digits of SHA-256 tell two types of
// one key apart; a type may hold spaces and quotes, which an entity-tag
// may not.
func etag(v meta.Version) string {
	t := sha256.Sum256([]byte(cmp.Or(v.ContentType, defaultType)))
	return `"` + string(v.Hash) + "." + hex.EncodeToString(t[:8]) + `"`
}

// defaultType is the Content-Type of a version stored without one.
const defaultType = "application/octet-stream"
