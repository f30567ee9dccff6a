package proxy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/02-single-proxy/proxy"
	"github.com/gocourse/gateway/02-single-proxy/proxytest"
)

// TestCloseDoubtfulFraming: a proxy served through FramingHandler closes
// the connection after a chunked request, so the request hidden after the
// last chunk reaches no backend.
func TestCloseDoubtfulFraming(t *testing.T) {
	proxytest.CheckSmuggling(t, func(t *testing.T, target *url.URL) string {
		front := httptest.NewServer(proxy.FramingHandler(proxy.New(target, nil)))
		t.Cleanup(front.Close)
		return front.URL
	})
}

// TestNetHTTPServesASmuggledRequest is why CloseDoubtfulFraming exists:
// the proxy served by net/http alone answers a request with both a
// Content-Length and a chunked body, keeps the connection open, and
// serves the bytes after the last chunk as a second request. Should it
// fail, a newer Go closes the connection itself (RFC 9112, section 6.1),
// and the chapter's pitfall needs rewording.
func TestNetHTTPServesASmuggledRequest(t *testing.T) {
	back := httptest.NewServer(nil) // 404 for everything: the answers are enough
	defer back.Close()
	target, err := url.Parse(back.URL)
	require.NoError(t, err)
	front := httptest.NewServer(proxy.New(target, nil))
	defer front.Close()

	const smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	const lastChunk = "0\r\n\r\n"
	answers, closed := proxytest.Exchange(t, front.Listener.Addr().String(),
		"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.Itoa(len(lastChunk+smuggled))+
			"\r\nTransfer-Encoding: chunked\r\n\r\n"+lastChunk+smuggled)
	assert.Len(t, answers, 2, "net/http served the smuggled request")
	assert.False(t, closed)
}

// TestNetHTTPDeletesATransferEncodingOnHTTP10Unseen is why
// CloseDoubtfulFraming closes after every HTTP/1.0 request: net/http
// deletes the Transfer-Encoding of an HTTP/1.0 request, reads no body,
// and serves the bytes a chunked body would be as the next request on
// the kept connection; and the handler sees the very same request as
// without the header, so it cannot single such requests out.
func TestNetHTTPDeletesATransferEncodingOnHTTP10Unseen(t *testing.T) {
	type seen struct {
		Proto            string
		ContentLength    int64
		TransferEncoding []string
		Close            bool
		Header           http.Header
		Body             string
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/a" {
			got <- seen{r.Proto, r.ContentLength, r.TransferEncoding, r.Close, r.Header, string(body)}
		}
	}))
	defer srv.Close()

	const next = "GET /next HTTP/1.0\r\n\r\n" // a chunked body's bytes, to net/http
	answers, _ := proxytest.Exchange(t, srv.Listener.Addr().String(),
		"POST /a HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"+next)
	assert.Len(t, answers, 2, "net/http served the body's bytes as a second request")
	withTE := <-got

	answers, _ = proxytest.Exchange(t, srv.Listener.Addr().String(), "POST /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"+next)
	assert.Len(t, answers, 2, "the same request without the header, and the same next one")
	if diff := cmp.Diff(<-got, withTE); diff != "" {
		t.Errorf("the handler saw the HTTP/1.0 request with a Transfer-Encoding differently (-without +with):\n%s", diff)
	}
}

// TestNetHTTPHidesTheContentLengthBesideAChunkedBody is why
// CloseDoubtfulFraming closes after every chunked request: net/http
// deletes a Content-Length sent beside Transfer-Encoding: chunked before
// the handler runs, which then sees the same request as an honest chunked
// one and cannot single the doubtful one out.
func TestNetHTTPHidesTheContentLengthBesideAChunkedBody(t *testing.T) {
	type seen struct {
		ContentLength    int64
		TransferEncoding []string
		Header           http.Header
		Body             string
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/a" {
			got <- seen{r.ContentLength, r.TransferEncoding, r.Header, string(body)}
		}
	}))
	defer srv.Close()

	const chunked = "5\r\nhello\r\n0\r\n\r\n"
	const next = "GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" // ends the exchange
	answers, _ := proxytest.Exchange(t, srv.Listener.Addr().String(),
		"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.Itoa(len(chunked))+
			"\r\nTransfer-Encoding: chunked\r\n\r\n"+chunked+next)
	assert.Len(t, answers, 2)
	withCL := <-got
	assert.Equal(t, "hello", withCL.Body)

	answers, _ = proxytest.Exchange(t, srv.Listener.Addr().String(),
		"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"+chunked+next)
	assert.Len(t, answers, 2)
	if diff := cmp.Diff(<-got, withCL); diff != "" {
		t.Errorf("the handler saw the chunked request with a Content-Length differently (-without +with):\n%s", diff)
	}
}
