package proxy_test

import (
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"

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
