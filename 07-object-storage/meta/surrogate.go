package meta

import (
	"strconv"
	"unicode"
	"unicode/utf16"
)

// loneSurrogate finds the first JSON escape in body that names half of
// a UTF-16 surrogate pair without the other half ("\udce9", or "\ud83d"
// not followed by a low half), and returns it with its offset. Such an
// escape names no character: encoding/json reads it as U+FFFD, as it
// reads a byte that is not UTF-8, so "caf\udce9" would be committed as
// "caf\uFFFD". RFC 8259 (section 8.2) leaves such a string's meaning
// unpredictable, and I-JSON (RFC 7493, section 2.1) forbids it.
//
// A backslash is always the start of an escape in a JSON text, so one
// pass over the bytes that skips each escape whole finds them all; a
// text that is not JSON is the decoder's to refuse.
func loneSurrogate(body []byte) (escape string, offset int, found bool) {
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' {
			continue
		}
		r, ok := unicodeEscape(body, i)
		if !ok {
			i++ // \" \\ \n and the like: skip the escaped byte
			continue
		}
		if utf16.IsSurrogate(r) {
			low, ok := unicodeEscape(body, i+6)
			if !ok || utf16.DecodeRune(r, low) == unicode.ReplacementChar {
				return string(body[i : i+6]), i, true
			}
			i += 6 // the low half, whole
		}
		i += 5
	}
	return "", 0, false
}

// unicodeEscape is the code unit of the \uXXXX escape at body[i:], if
// there is one.
func unicodeEscape(body []byte, i int) (rune, bool) {
	if i+6 > len(body) || body[i] != '\\' || body[i+1] != 'u' {
		return 0, false
	}
	n, err := strconv.ParseUint(string(body[i+2:i+6]), 16, 16)
	return rune(n), err == nil
}
