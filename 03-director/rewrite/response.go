package rewrite

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
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
	switch {
	case res.StatusCode == http.StatusSwitchingProtocols:
	case o.ErrorPages && res.StatusCode >= 500:
		errorPage(res)
	case o.Transform != nil && transformable(res):
		transform(res, o.Transform)
	}
	return nil
}

// errorPage replaces a backend's 5xx body with the gateway's own page. The
// status code stays: a 503 from upstream is still a 503 for the client.
func errorPage(res *http.Response) {
	page := fmt.Sprintf("gateway: the backend %s answered %s to %s %s\n",
		res.Request.URL.Host, res.Status, res.Request.Method, res.Request.URL.Path)
	res.Body.Close() // the backend's page is never read
	res.Body = io.NopCloser(strings.NewReader(page))
	res.ContentLength = int64(len(page))
	res.Header.Set("Content-Length", strconv.Itoa(len(page)))
	res.Header.Set("Content-Type", "text/plain; charset=utf-8")
	res.Header.Del("Content-Encoding")
	res.Header.Del("Etag")
}
