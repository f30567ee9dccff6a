package rewrite

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// modifyResponse changes the backend's response before the client sees it.
// Hop-by-hop headers are already gone. It runs for a 101 Switching
// Protocols too, whose Body is the upgraded connection: that one gets its
// headers changed and nothing else.
func (o Options) modifyResponse(res *http.Response) error {
	for k, v := range o.ResponseHeader {
		res.Header[k] = v
	}
	for _, k := range o.HideResponseHeaders {
		res.Header.Del(k)
	}
	unknown := res.ContentLength < 0 // before a Transform makes every length unknown
	switch {
	case res.StatusCode == http.StatusSwitchingProtocols:
		return nil
	case o.ErrorPages && res.StatusCode >= 500:
		errorPage(res, o.HideBackend) // the gateway's page: no trailers
		return nil
	case o.Transform != nil && transformable(res):
		transform(res, o.Transform)
	}
	guardTrailers(res, unknown)
	return nil
}

// guardTrailers keeps the backend's trailer fields that only a header
// section may carry from reaching the client: the announced ones now,
// the rest when the body is closed, which is when ReverseProxy reads
// them (after the last chunk). net/http's server drops such fields from
// the trailers a handler announces, but not from those ReverseProxy
// passes on unannounced (http.TrailerPrefix), as it does all of them
// once any was not announced: "Content-Length: 5" or "Connection: close"
// after the last chunk reached the client. Only a body whose length was
// not known in advance (unknown: chunked) or that announced trailers can
// have any, so a response with a Content-Length and no Trailer field
// costs nothing more.
func guardTrailers(res *http.Response, unknown bool) {
	if res.Body == nil || res.Body == http.NoBody || !unknown && res.Trailer == nil {
		return
	}
	dropHeaderOnly(res.Trailer)
	res.Body = trailerGuard{res.Body, res}
}

// trailerGuard is a response body that drops its response's header-only
// trailer fields when it is closed.
type trailerGuard struct {
	io.ReadCloser
	res *http.Response
}

func (g trailerGuard) Close() error {
	err := g.ReadCloser.Close()
	dropHeaderOnly(g.res.Trailer)
	return err
}

// dropHeaderOnly removes from trailer the fields of headerOnly.
func dropHeaderOnly(trailer http.Header) {
	for k := range trailer {
		if headerOnly[k] {
			delete(trailer, k)
		}
	}
}

// headerOnly are the fields a trailer section must not pass on: those
// net/http's server refuses to announce as trailers (framing, routing,
// authentication, request modifiers, response controls and content
// format, which RFC 9110, section 6.5.1, says cannot be processed after
// the content), and the hop-by-hop ones (section 7.6.1).
var headerOnly = map[string]bool{
	"Authorization": true, "Cache-Control": true, "Connection": true,
	"Content-Encoding": true, "Content-Length": true, "Content-Range": true,
	"Content-Type": true, "Expect": true, "Host": true, "Keep-Alive": true,
	"Max-Forwards": true, "Pragma": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Proxy-Connection": true, "Range": true,
	"Realm": true, "Te": true, "Trailer": true, "Transfer-Encoding": true,
	"Upgrade": true, "Www-Authenticate": true,
}

// errorPage replaces a backend's 5xx body with the gateway's own page. The
// status code stays: a 503 from upstream is still a 503 for the client.
// With hide, the page does not say which backend, nor which path it was
// asked for (the target's base path is internal too). The page names the
// status by its standard text, not res.Status: the reason phrase after
// the code is the backend's own free text, as are the trailers after its
// body, which go with it.
func errorPage(res *http.Response, hide bool) {
	status := strings.TrimSpace(strconv.Itoa(res.StatusCode) + " " + http.StatusText(res.StatusCode))
	page := fmt.Sprintf("gateway: the backend answered %s\n", status)
	if !hide {
		page = fmt.Sprintf("gateway: the backend %s answered %s to %s %s\n",
			res.Request.URL.Host, status, res.Request.Method, res.Request.URL.Path)
	}
	// The client learns no more than the page says; the log has which
	// backend, and the path it was sent, whatever hide keeps from the page.
	slog.Warn("proxy: backend error page replaced", "status", res.StatusCode,
		"method", res.Request.Method, "url", res.Request.URL.String())
	// Read what is left of a short page before closing, so the Transport
	// can reuse the connection; a long one is not worth reading, nor one
	// slow to come (the client waits meanwhile): the connection is closed
	// instead. Close ends a Read that is waiting.
	stop := time.AfterFunc(maxDrainTime, func() { res.Body.Close() })
	io.CopyN(io.Discard, res.Body, maxDrain) //nolint:errcheck // best effort
	stop.Stop()
	res.Body.Close()
	res.Trailer = nil
	res.Body = io.NopCloser(strings.NewReader(page))
	res.ContentLength = int64(len(page))
	res.Header.Set("Content-Length", strconv.Itoa(len(page)))
	res.Header.Set("Content-Type", "text/plain; charset=utf-8")
	res.Header.Del("Content-Encoding")
	res.Header.Del("Etag")
}

// maxDrain is how much of a replaced error page is read to keep its
// connection: reading costs little next to a new TCP handshake, up to a
// point.
const maxDrain = 4 << 10

// maxDrainTime bounds the wait for that page: a backend that sends 5xx
// headers and then nothing must not hold the request.
const maxDrainTime = time.Second
