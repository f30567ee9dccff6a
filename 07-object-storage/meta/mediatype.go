package meta

import (
	"errors"
	"fmt"
	"mime"
	"strings"
)

// MaxContentTypeLen is the longest media type a version keeps, in bytes.
// Real ones are a few dozen ("application/vnd.openxmlformats-...", with a
// charset, is under 100); the bound keeps a type from growing every
// version record and every response header it goes into.
const MaxContentTypeLen = 256

// ErrBadContentType is returned for a media type the store will not keep.
var ErrBadContentType = errors.New("bad content type")

// ValidateContentType accepts "" (no type) and media types as RFC 9110
// (section 8.3.1) writes them, "type/subtype" with optional parameters,
// as mime.ParseMediaType reads them. The type is sent back verbatim in
// a Content-Type header and printed by the command-line tool, so it
// must be printable ASCII: a control character (a CR, an LF, an escape
// sequence for a terminal) is refused rather than passed on.
func ValidateContentType(ct string) error {
	switch {
	case ct == "":
		return nil
	case len(ct) > MaxContentTypeLen:
		return fmt.Errorf("%w: %d bytes, longer than %d", ErrBadContentType, len(ct), MaxContentTypeLen)
	case strings.IndexFunc(ct, func(r rune) bool { return r < 0x20 || r > 0x7e }) >= 0:
		return fmt.Errorf("%w: %q holds a character other than printable ASCII", ErrBadContentType, ct)
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("%w: %q: %v", ErrBadContentType, ct, err)
	}
	if !strings.Contains(mt, "/") {
		// ParseMediaType reads Content-Disposition too, whose values
		// ("attachment") are one word.
		return fmt.Errorf("%w: %q is not type/subtype", ErrBadContentType, ct)
	}
	return nil
}
