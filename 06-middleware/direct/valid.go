package direct

import "net/http"

// writable reports whether req's method, header fields and trailer fields
// may be written as they are. Request.Write writes the method unchecked,
// so a method holding "\r\n" would put a second request of the caller's
// making on the connection, and so are the trailer names it lists in the
// header's "Trailer:" line (for a chunked body); it also quietly rewrites
// invalid field values (CR and LF become spaces) and drops invalid names.
// http.Transport refuses such a request instead, with an error that names
// the field: takes leaves it to Fallback, so the caller gets that error
// and the backend gets nothing.
func writable(req *http.Request) bool {
	if req.Method != "" && !isToken(req.Method) {
		return false
	}
	return validFields(req.Header) && validFields(req.Trailer)
}

func validFields(h http.Header) bool {
	for name, values := range h {
		if !isToken(name) {
			return false
		}
		for _, v := range values {
			if !isFieldValue(v) {
				return false
			}
		}
	}
	return true
}

// isToken reports whether s is an RFC 9110 token (section 5.6.2), what a
// method and a field name must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}

func isTchar(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	switch b {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// isFieldValue reports whether s may be sent as a field value: no control
// character but the horizontal tab (RFC 9110, section 5.5), the check
// http.Transport makes (httpguts.ValidHeaderFieldValue).
func isFieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < ' ' && b != '\t' || b == 0x7f {
			return false
		}
	}
	return true
}
