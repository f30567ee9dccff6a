package rewrite

import (
	"net/http"
	"net/textproto"
	"strings"
)

// hopByHop are the fields that are hop-by-hop whatever Connection says:
// those of RFC 9110 (section 7.6.1), and the others
// httputil.ReverseProxy removes from a final answer.
var hopByHop = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// DropHopByHop removes from h the fields its Connection field names, then
// the hop-by-hop fields: what a proxy must take out of a message before
// it forwards it (RFC 9110, section 7.6.1). httputil.ReverseProxy does it
// for the final answer, not for a backend's 1xx (103 Early Hints), which
// it passes on as it came: the proxy's writer calls it for those
// (keepingWriter), and so does chapter 06's transport.
func DropHopByHop(h http.Header) {
	for _, v := range h["Connection"] {
		for name := range strings.SplitSeq(v, ",") {
			if name = textproto.TrimString(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, k := range hopByHop {
		delete(h, k)
	}
}
