package gateway

import (
	"net/url"
	"testing"

	"github.com/gocourse/gateway/02-single-proxy/proxytest"
)

// TestTheGatewayServesNoSmuggledRequest runs chapter 02's check: the
// gateway closes the connection after a request whose body came chunked
// and after any HTTP/1.0 request, whose Transfer-Encoding net/http
// deletes unseen, so nothing sent after the body as the gateway read it
// reaches a backend (proxy.CloseDoubtfulFraming).
func TestTheGatewayServesNoSmuggledRequest(t *testing.T) {
	proxytest.CheckSmuggling(t, func(t *testing.T, target *url.URL) string {
		_, gw, _ := start(t, "pools: {a: {targets: [\""+target.String()+"\"]}}\nroutes: [{path: /, pool: a}]\n")
		return gw.URL
	})
}
