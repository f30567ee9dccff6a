package rewrite

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
)

// SpoofableHeaders are the headers, besides every X-Forwarded-* one, that
// tell a backend who the client is: a backend may trust them, so only the
// gateway may set them. Beyond the gateway's own, the list has those that
// common backend code reads: Rails takes Client-Ip, and Node's request-ip
// takes X-Client-Ip before X-Forwarded-For, then Cf-Connecting-Ip,
// Fastly-Client-Ip, X-Cluster-Client-Ip, X-Forwarded and Forwarded-For.
var SpoofableHeaders = []string{
	"Forwarded", "X-Real-Ip", "True-Client-Ip",
	"Client-Ip", "X-Client-Ip", "X-Cluster-Client-Ip", "Cf-Connecting-Ip", "Fastly-Client-Ip",
	"X-Forwarded", "Forwarded-For",
}

// Spoofable reports whether a client's header named name must be dropped:
// it is one of SpoofableHeaders or its name starts with X-Forwarded-. The
// prefix catches more than the For, Host and Proto that ReverseProxy
// drops itself: Port, Prefix, Ssl, Scheme, Server, and whatever a backend
// framework invents next (Rack and Rails take X-Forwarded-Ssl: on to mean
// "the client used https"). Case does not matter, and _ counts as -,
// because CGI-style servers (Rack, PHP) read X_Forwarded_Ssl and
// X-Forwarded-Ssl as the same variable.
func Spoofable(name string) bool {
	const prefix = "X-Forwarded-"
	name = strings.ReplaceAll(name, "_", "-") // no copy when there is no _
	if len(name) >= len(prefix) && strings.EqualFold(name[:len(prefix)], prefix) {
		return true
	}
	return slices.ContainsFunc(SpoofableHeaders, func(h string) bool { return strings.EqualFold(name, h) })
}

// rewrite turns the client's request (pr.In) into the backend's (pr.Out),
// sent to target. Hop-by-hop headers are gone from pr.Out before it runs,
// so nothing set here can be removed by a client's Connection header.
func (o Options) rewrite(pr *httputil.ProxyRequest, target *url.URL) {
	// URL: strip the route prefix (from the decoded path; what is left
	// keeps the client's escapes: rawRest), then join with the target's
	// base path and merge the target's query with the client's (SetURL
	// does both).
	if o.StripPrefix != "" {
		u := pr.Out.URL
		path := stripPrefix(u.Path, o.StripPrefix)
		u.RawPath = rawRest(u.RawPath, len(u.Path)-len(path), path)
		u.Path = path
	}
	pr.SetURL(target) // also sets pr.Out.Host to "": the target's host
	if o.PreserveHost {
		pr.Out.Host = pr.In.Host
	}

	// Headers: what a backend learns about the client comes from the
	// gateway, never from the client.
	for k := range pr.Out.Header {
		if Spoofable(k) {
			delete(pr.Out.Header, k)
		}
	}
	if limitsHops(pr.Out.Method) {
		decrementMaxForwards(pr.Out.Header) // one hop less (RFC 9110, section 7.6.2)
	}
	dropH2CUpgrade(pr.Out.Header)
	if o.XForwarded {
		pr.SetXForwarded()
		if ip, _, err := net.SplitHostPort(pr.In.RemoteAddr); err == nil {
			pr.Out.Header.Set("X-Real-Ip", ip)
		}
	}
	for k, v := range o.Header {
		pr.Out.Header[k] = v // shared, but clone left no room to append in place
	}

	// A body that cannot be read fails the round trip with its own
	// error: mark it as the client's (ErrRequestBody), so that the answer
	// blames the client, not the backend.
	if pr.Out.Body != nil {
		pr.Out.Body = clientBody{pr.Out.Body}
	}

	// A range counts the backend's bytes, not the filtered ones: ask for
	// the whole body (a server may ignore Range, RFC 9110 section 14.2).
	if o.Transform != nil {
		pr.Out.Header.Del("Range")
		pr.Out.Header.Del("If-Range")
	}
}

// dropH2CUpgrade turns a request to upgrade to cleartext HTTP/2 ("Upgrade:
// h2c") into the plain HTTP/1.1 request it also is, as a server that does
// not switch answers it; Envoy drops such an upgrade too. Forwarded, it
// let a backend that speaks h2c switch, and the connection after its 101
// is a tunnel that carries any request the client likes straight to that
// backend, past every check the proxy makes: its routes, and the
// middleware of chapter 06 (h2c smuggling). RFC 9113 (section 3.1)
// deprecated the upgrade; nothing of worth is lost. The proxy has already
// reduced Connection to "Upgrade" and may have left HTTP2-Settings (sent
// without being named in Connection): both go with it.
func dropH2CUpgrade(h http.Header) {
	for _, v := range h["Upgrade"] {
		for p := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(textproto.TrimString(p), "h2c") {
				delete(h, "Upgrade")
				delete(h, "Connection")
				delete(h, "Http2-Settings")
				return
			}
		}
	}
}

// hasDotSegment reports whether the decoded path has a segment "." or
// "..": one written so, or escaped (%2e, or %2f inside a segment, which
// the decoded path shows as a "/"). A backslash counts as a separator
// too, as it does for some servers (IIS, and Windows file paths), and a
// segment ends at a ';', where Tomcat's path parameters begin: it reads
// "..;x" as "..".
func hasDotSegment(path string) bool {
	for seg := range strings.FieldsFuncSeq(path, func(r rune) bool { return r == '/' || r == '\\' }) {
		seg, _, _ = strings.Cut(seg, ";")
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// stripPrefix removes prefix from path at a segment boundary: with prefix
// /api, /api/users becomes /users and /api becomes /, but /apiary is left
// alone.
func stripPrefix(path, prefix string) string {
	prefix = strings.TrimSuffix(prefix, "/")
	rest, ok := strings.CutPrefix(path, prefix)
	switch {
	case !ok || path == "":
		return path
	case rest == "":
		return "/"
	case rest[0] != '/':
		return path
	}
	return rest
}

// rawRest returns the escaped form of path, the rest of a path once the
// first cut bytes of its decoded form are stripped, taken from raw, the
// escaped form of the whole path (URL.RawPath), so that the client's
// escapes are kept even when the prefix itself was escaped: /%61pi/a%2Fb
// less /api is /a%2Fb. It returns "", which lets URL.EscapedPath escape
// path itself, when raw is "" or does not encode path.
func rawRest(raw string, cut int, path string) string {
	i := 0
	for ; cut > 0 && i < len(raw); cut-- {
		if raw[i] == '%' {
			i += 2 // %XX is one decoded byte
		}
		i++
	}
	rest := raw[min(i, len(raw)):]
	if len(rest) >= 3 && strings.EqualFold(rest[:3], "%2F") {
		rest = "/" + rest[3:] // the prefix ended at an escaped slash, as routed
	}
	if p, err := url.PathUnescape(rest); err != nil || p != path {
		return ""
	}
	return rest
}

// clientBody is the body of a request to a backend, read from the client:
// its read errors, but the io.EOF that ends it, are bodyErrors.
type clientBody struct{ io.ReadCloser }

func (b clientBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = bodyError{err}
	}
	return n, err
}

// bodyError is a read error of the client's body: it wraps ErrRequestBody
// and the error itself. The transport may wrap it in words of its own
// that name the backend's address (readfrom tcp 10.0.0.5:41000->
// 10.0.0.7:8080: ...); the 400 quotes only this one.
type bodyError struct{ err error }

func (e bodyError) Error() string   { return fmt.Sprintf("%v: %v", ErrRequestBody, e.err) }
func (e bodyError) Unwrap() []error { return []error{ErrRequestBody, e.err} }
