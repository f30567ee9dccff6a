package rewrite

import (
	"math"
	"net/http"
	"strconv"
)

// Max-Forwards (RFC 9110, section 7.6.2) lets a client stop an OPTIONS or
// TRACE request after so many hops, to ask each proxy of a chain in turn
// what it is, or to find where a chain loops. A proxy that receives one of
// those two methods with the field MUST NOT forward it when the value is 0
// and MUST answer it as the final recipient; above 0 it MUST forward the
// value decremented. For every other method a recipient MAY ignore the
// field: this proxy does, so a GET or a POST pays nothing but the two
// comparisons of limitsHops.

// maxForwardsLimit is the largest value this proxy forwards: section
// 7.6.2 lets a recipient send the lesser of the received value less one
// and the largest it supports. A value of any length is read without
// overflow.
const maxForwardsLimit = math.MaxInt32

// limitsHops reports whether method is one whose Max-Forwards a proxy
// must honour: OPTIONS and TRACE (methods are case-sensitive, section 9.1).
func limitsHops(method string) bool {
	return method == http.MethodOptions || method == http.MethodTrace
}

// maxForwards returns the value of h's Max-Forwards field (at most
// maxForwardsLimit+1) and whether there is one this proxy can read: a
// single field line of decimal digits (1*DIGIT). Anything else (two lines,
// a list, a sign, an empty value) is not a Max-Forwards, and the proxy
// treats the request as having none: it forwards the field as it came, as
// a proxy that does not implement the field (nginx) does. The RFC says
// nothing of a malformed value; refusing it would stop a request any such
// proxy passes, and rewriting it would make up a count the client did not
// send.
func maxForwards(h http.Header) (int64, bool) {
	vv := h["Max-Forwards"]
	if len(vv) != 1 || vv[0] == "" {
		return 0, false
	}
	var n int64
	for _, c := range []byte(vv[0]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = min(n*10+int64(c-'0'), maxForwardsLimit+1)
	}
	return n, true
}

// decrementMaxForwards sets h's Max-Forwards, if it has one it can read
// (it is more than 0: ServeHTTP answered a 0 itself), to one less, or to
// maxForwardsLimit if that is less.
func decrementMaxForwards(h http.Header) {
	if n, ok := maxForwards(h); ok && n > 0 {
		h["Max-Forwards"] = []string{strconv.FormatInt(min(n-1, maxForwardsLimit), 10)}
	}
}

// answerLastHop answers r, an OPTIONS or TRACE whose Max-Forwards is 0,
// as its final recipient.
//
// OPTIONS: 200 with no content (section 9.3.7), as net/http answers
// "OPTIONS *". It sends no Allow: the proxy forwards any method, and what
// the target resource allows only its backend knows; an Allow naming
// only the proxy's own methods would tell the client GET is refused.
//
// TRACE: 501. The final recipient SHOULD reflect the request back
// (section 9.3.8) and SHOULD leave out the fields likely to hold secrets,
// since the echo puts on a page whatever the client attached: its Cookie
// and Authorization (the "cross-site tracing" attack). Which fields hold
// secrets no list can say (an X-Api-Key, a session in a header of the
// application's own), and this proxy adds nothing to the trace (no Via),
// so it implements TRACE as a final recipient for no resource, and 501
// is what section 9.1 asks of a method a server does not implement.
func answerLastHop(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return
	}
	http.Error(w, "not implemented: TRACE with Max-Forwards: 0; this proxy echoes no request to its sender", http.StatusNotImplemented)
}
