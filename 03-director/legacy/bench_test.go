package legacy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/gocourse/gateway/02-single-proxy/proxy"
	"github.com/gocourse/gateway/03-director/rewrite"
)

// discard is a ResponseWriter that keeps nothing.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkRoundTrip forwards a small GET through each version of the same
// proxy to a loopback backend, over one shared Transport.
func BenchmarkRoundTrip(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "Hello from backend A\n")
	}))
	defer srv.Close()
	target, _ := url.Parse(srv.URL)
	header := http.Header{"X-Gateway": {"03-director"}}
	transport := proxy.NewTransport()

	director := New(target, header)
	director.Transport = transport
	for _, v := range []struct {
		name  string
		proxy http.Handler
	}{
		{"Director", director},
		{"Rewrite", rewrite.New(target, rewrite.Options{Header: header, XForwarded: true, Transport: transport})},
	} {
		b.Run(v.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			b.ReportAllocs()
			for b.Loop() {
				v.proxy.ServeHTTP(&discard{h: http.Header{}}, req)
			}
		})
	}
}
