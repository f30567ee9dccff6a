// Package rewrite is the course's reverse proxy from this stage on: an
// httputil.ReverseProxy built on Rewrite (not the deprecated Director), with
// each thing a gateway does to a request or a response switched on by a
// field of Options.
//
// On the way in (Rewrite), it can strip a route prefix, keep or replace the
// Host header, set X-Forwarded-* and X-Real-IP, and add the gateway's own
// headers; forwarding headers a client sent are always dropped. On the way
// out (ModifyResponse), it can add and hide response headers, point a
// backend's redirects to itself back through the proxy, replace a
// backend's 5xx page with the gateway's, and filter the body as a stream.
// When the backend cannot answer, ErrorHandler says why: 502, 503 or 504
// (400 or 413 when the client's body is at fault).
//
// The backend of each request is chosen by a Picker. New uses one that
// always returns the same target; later stages pass their own (random in
// 04, the balancers of 05) to NewPicking.
package rewrite

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"slices"

	"github.com/gocourse/gateway/02-single-proxy/proxy"
)

// Options says what the proxy does besides forwarding. With the zero
// value the proxy still does what it always does: it joins the request's
// path to the target's base path and puts the target's query first, sends
// the target's host as Host, drops hop-by-hop headers and every
// forwarding header the client sent (Forwarded, every X-Forwarded-*,
// X-Real-Ip, True-Client-Ip, Client-Ip and more: see Spoofable), and sets
// none of its own: the backend gets no X-Forwarded-For. Responses pass
// unchanged, and a request that cannot be forwarded is answered by
// ErrorHandler.
type Options struct {
	// Request.

	// PreserveHost sends the client's Host header to the backend instead of
	// the target's host. Use it when the backend serves several sites and
	// needs the name the client asked for.
	PreserveHost bool
	// StripPrefix is removed from the start of the request path before it
	// is joined with the target's path: with "/api", /api/users goes to
	// /users. A path outside the prefix is forwarded as it is.
	StripPrefix string
	// XForwarded sets X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto
	// and X-Real-IP from what the proxy itself saw.
	XForwarded bool
	// Header is set on every request sent to a backend, replacing any
	// value the client sent (for example X-Gateway: 03-director). Keys in
	// any case are put in canonical form, so x-gateway replaces it too.
	Header http.Header

	// Response.

	// ResponseHeader is set on every response from a backend, replacing
	// the backend's value (for example X-Proxy); keys in any case, as for
	// Header. The answers the gateway writes itself when no response came
	// (ErrorHandler's 502, 503 and 504) do not get it.
	ResponseHeader http.Header
	// RewriteRedirects points a backend's redirects to itself back
	// through the proxy: a Location with the backend's own scheme, host
	// and port (or its host and port and no scheme: "//10.0.0.7:9001/")
	// loses them, and its path gets StripPrefix, escaped, back in place
	// of the target's path ("http://10.0.0.7:9001/login" becomes
	// "/api/login"), and so does the URL of a Refresh, as nginx's
	// proxy_redirect default does; each field, if there are several. The
	// query and the fragment go on as sent. Another host's URL, and one
	// without a host, are left as sent.
	RewriteRedirects bool
	// HideResponseHeaders are removed from every response (for example
	// Server, which tells an attacker what software to target),
	// informational ones such as 103 Early Hints included.
	HideResponseHeaders []string
	// ErrorPages replaces the body of a backend's 5xx response with a page
	// of the gateway's own, so whatever the backend put in it (a stack
	// trace, a query) stays inside, and so do its other words: the reason
	// phrase of its status line and its trailers. The page names the
	// backend's address and the path the backend was sent (after
	// StripPrefix), unless HideBackend is set.
	ErrorPages bool
	// HideBackend keeps the backends' addresses and the text of transport
	// errors out of every answer the gateway writes itself: the pages of
	// ErrorPages, and (when ErrorHandler is nil) the error answers, made by
	// TerseErrorHandler instead of ErrorHandler. The log keeps the details.
	// Off by default so that curl shows you what failed while you learn;
	// turn it on for a gateway that faces the internet.
	HideBackend bool
	// Transform, if set, filters every response body as it streams
	// through: see Upper and Replace, and filter.go for which bodies are
	// left alone.
	Transform func(io.Reader) io.Reader

	// Transport sends requests to the backends; nil means a new
	// proxy.NewTransport(). Set its ResponseHeaderTimeout to answer 504
	// when a backend is too slow: proxy.NewTransport sets none, and
	// without one a backend that never answers holds the request until
	// the client gives up.
	Transport http.RoundTripper
	// ErrorHandler answers a request that could not be forwarded; nil
	// means ErrorHandler (TerseErrorHandler with HideBackend).
	ErrorHandler func(http.ResponseWriter, *http.Request, error)
	// BufferPool lends the buffers response bodies are copied through.
	// With nil, httputil.ReverseProxy allocates a 32 KiB buffer for every
	// response, which the garbage collector must then reclaim: under load
	// that is most of what a proxy allocates. NewBufferPool returns one;
	// share it between proxies.
	BufferPool httputil.BufferPool
}

// A Picker chooses the backend for one request: a target, or an error
// (wrap ErrNoTarget when no backend can take it), which the proxy's
// ErrorHandler answers, and nothing is forwarded. A nil target with a nil
// error is a Picker's bug, answered as ErrNoTarget.
type Picker func(*http.Request) (*url.URL, error)

// Proxy is a reverse proxy whose backend is chosen per request.
type Proxy struct {
	pick    Picker // nil for New's proxy, whose target never changes
	reverse *httputil.ReverseProxy
	hide    []string // Options.HideResponseHeaders, for informational answers
}

// New returns a proxy that forwards every request to target.
func New(target *url.URL, opts Options) *Proxy {
	if target == nil {
		panic("rewrite.New: nil target")
	}
	return newProxy(nil, target, opts)
}

// NewPicking returns a proxy that forwards each request to the target
// pick chooses for it.
func NewPicking(pick Picker, opts Options) *Proxy {
	if pick == nil {
		panic("rewrite.NewPicking: nil Picker") // not in every request it serves
	}
	return newProxy(pick, nil, opts)
}

// newProxy is New (a target, no Picker) and NewPicking (a Picker). A
// picked target travels from ServeHTTP to Rewrite, and to the error
// answers that name it (backendHost), in the request's context, which
// costs every request two allocations (the value, a copy of the request).
// New's target is the same for every request: Rewrite has it already,
// and only an error answer gets the value.
func newProxy(pick Picker, target *url.URL, opts Options) *Proxy {
	mustBeFields("Header", opts.Header)
	mustBeFields("ResponseHeader", opts.ResponseHeader)
	opts = opts.clone()
	if opts.Transport == nil {
		opts.Transport = proxy.NewTransport()
	}
	switch {
	case opts.ErrorHandler != nil:
	case opts.HideBackend:
		opts.ErrorHandler = TerseErrorHandler
	default:
		opts.ErrorHandler = ErrorHandler
	}
	rewrite := func(pr *httputil.ProxyRequest) { opts.rewrite(pr, pr.In.Context().Value(targetKey{}).(*url.URL)) }
	answer := opts.ErrorHandler
	if target != nil {
		rewrite = func(pr *httputil.ProxyRequest) { opts.rewrite(pr, target) }
		answer = func(w http.ResponseWriter, r *http.Request, err error) {
			opts.ErrorHandler(w, withTarget(r, target), err)
		}
	}
	modify := opts.modifyResponse
	if opts.RewriteRedirects {
		modify = func(res *http.Response) error {
			if res.Request != nil {
				t := target
				if t == nil {
					t, _ = res.Request.Context().Value(targetKey{}).(*url.URL)
				}
				if t != nil {
					relocate(res.Header, res.Request.URL, t.EscapedPath(), opts.StripPrefix)
				}
			}
			return opts.modifyResponse(res) // after: ResponseHeader can still set a Location
		}
	}
	return &Proxy{
		pick: pick,
		hide: opts.HideResponseHeaders,
		reverse: &httputil.ReverseProxy{
			Rewrite:        rewrite,
			ModifyResponse: modify,
			ErrorHandler:   answer,
			Transport:      opts.Transport,
			BufferPool:     opts.BufferPool,
			// Pass on at once what the backend sent: by default a body of
			// known length is flushed only when the response writer's
			// buffer fills, so bytes read before a pause (a stream, a
			// large download between two pieces) wait there until the
			// backend sends more. A flush with nothing buffered costs
			// nothing; a body sent in one piece is flushed once, as it
			// would be at its end anyway (TestPausedBodyIsPassedOn).
			FlushInterval: -1,
		},
	}
}

// targetKey carries the picked target from ServeHTTP to Rewrite.
type targetKey struct{}

// withTarget returns r with target in its context (targetKey).
func withTarget(r *http.Request, target *url.URL) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), targetKey{}, target))
}

// ServeHTTP refuses a path with a dot segment (ErrDotSegment), answers
// an OPTIONS or TRACE whose Max-Forwards is 0 itself (maxforwards.go),
// picks the backend, then lets the ReverseProxy forward the request. The
// refusal, the answer and the pick happen here, not in Rewrite, because
// Rewrite cannot fail: they must become an answer before anything is
// sent, and before a backend is picked that would never see the request.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if hasDotSegment(r.URL.Path) {
		p.reverse.ErrorHandler(w, r, fmt.Errorf("%s: %w", r.URL.EscapedPath(), ErrDotSegment))
		return
	}
	if limitsHops(r.Method) {
		if n, ok := maxForwards(r.Header); ok && n == 0 {
			answerLastHop(w, r)
			return
		}
	}
	if p.pick != nil {
		target, err := p.pick(r)
		if err == nil && target == nil {
			err = fmt.Errorf("%w: the Picker returned no target and no error", ErrNoTarget)
		}
		if err != nil {
			p.reverse.ErrorHandler(w, r, pickError{err})
			return
		}
		r = withTarget(r, target)
	}
	if len(p.hide) > 0 {
		w = hidingWriter{w, p.hide}
	}
	var own http.Header
	if len(w.Header()) > 0 {
		own = w.Header().Clone()
	}
	w = &keepingWriter{ResponseWriter: w, own: own}
	untyped(w.Header())
	p.reverse.ServeHTTP(w, r)
}

// untyped marks h, a response header with no Content-Type yet, as one
// that has none: net/http's server then guesses none from the body
// (http.DetectContentType), which it does for a handler's answer without
// one. A backend that sent no Content-Type meant it (with
// "X-Content-Type-Options: nosniff", a fragment no browser is to render);
// guessed, its HTML fragment reached browsers as "text/html". nginx and
// HAProxy pass such an answer on as it came. A backend's own
// Content-Type goes on: ReverseProxy adds its values to the nil slice. It
// costs no allocation: the key is one the answer almost always has.
func untyped(h http.Header) {
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = nil
	}
}

// hidingWriter removes the hidden headers from the informational answers
// (103 Early Hints) ReverseProxy passes on as the backend sent them,
// before ModifyResponse, which hides them from the final one, runs.
type hidingWriter struct {
	http.ResponseWriter
	hide []string
}

func (w hidingWriter) WriteHeader(code int) {
	if code < 200 {
		for _, k := range w.hide {
			w.Header().Del(k)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController, with which ReverseProxy flushes
// and hijacks, reach the server's writer.
func (w hidingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// keepingWriter takes the hop-by-hop fields out of a backend's 1xx
// (DropHopByHop), and puts back, after it, the headers set before the
// proxy ran, and the mark that the answer has no type yet (untyped).
// ReverseProxy sends a backend's 1xx with the header as it stands (those
// headers and the 1xx's own), then clears the header for the final answer
// (Go issue 81207), which would lose what the layers outside had set
// (CORS's Vary and Access-Control-* headers, say) and let the server guess
// a type for an answer the backend sent without one. Every request pays
// for the writer, since any backend may send a 1xx; only a request that
// comes with headers set pays for their copy.
type keepingWriter struct {
	http.ResponseWriter
	own      http.Header // the header when the proxy started; nil if empty
	informed bool        // a 1xx went out, and the header was cleared since
}

func (w *keepingWriter) WriteHeader(code int) {
	w.restore()
	if code < 200 && code != http.StatusSwitchingProtocols { // 101 is final
		// ReverseProxy passes a 1xx on with the backend's hop-by-hop
		// fields; the final answer gets its own header back (restore).
		DropHopByHop(w.Header())
		w.informed = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *keepingWriter) Write(p []byte) (int, error) {
	w.restore()
	return w.ResponseWriter.Write(p)
}

// restore puts the headers set before the proxy back in front of what
// the answer set since, and the untyped mark, as if nothing had been
// cleared.
func (w *keepingWriter) restore() {
	if !w.informed {
		return
	}
	w.informed = false
	h := w.Header()
	for k, vv := range w.own {
		h[k] = append(slices.Clip(vv), h[k]...)
	}
	untyped(h)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *keepingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// pickError marks an error as the Picker's: no backend was picked, so
// the error page must name none. The request the ErrorHandler gets is then
// the client's, whose URL.Host is not a backend's but whatever the client
// wrote in an absolute-form request line (GET http://db:5432/ HTTP/1.1).
type pickError struct{ err error }

func (e pickError) Error() string { return e.err.Error() }
func (e pickError) Unwrap() error { return e.err }

// clone copies the maps and slices of o, so a caller that changes its
// Options after New does not race with requests in flight.
func (o Options) clone() Options {
	o.Header = canonical(o.Header)
	o.ResponseHeader = canonical(o.ResponseHeader)
	o.HideResponseHeaders = append([]string(nil), o.HideResponseHeaders...)
	return o
}

// canonical copies h with its keys in canonical form. The headers of a
// request or response that net/http parsed are keyed so (X-Gateway), and
// a key written otherwise (x-gateway) would be a second header beside the
// client's X-Gateway: forged, not its replacement.
func canonical(h http.Header) http.Header {
	if h == nil {
		return nil
	}
	c := make(http.Header, len(h))
	for k, v := range h {
		k = textproto.CanonicalMIMEHeaderKey(k)
		c[k] = slices.Clip(append(c[k], v...)) // no room to append in place: requests share it
	}
	return c
}
