package proxy_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/02-single-proxy/proxy"
)

// BenchmarkRoundTrip measures GET / through client -> proxy -> backend A,
// all in this process on loopback, with 16 client goroutines per CPU (32
// on a 2-core machine). "direct" skips the proxy: the difference is what
// the proxy costs. dials/op counts the connections the backend accepted
// per request: the default Transport's churn, made visible. The last case
// gives the ReverseProxy a BufferPool: without one it allocates a 32 KiB
// buffer to copy each response body.
func BenchmarkRoundTrip(b *testing.B) {
	cases := []struct {
		name     string
		newProxy func(target *url.URL) http.Handler // nil: no proxy
	}{
		{"direct", nil},
		{"proxy=DefaultTransport", func(target *url.URL) http.Handler {
			return proxy.New(target, http.DefaultTransport.(*http.Transport).Clone())
		}},
		{"proxy=NewTransport", func(target *url.URL) http.Handler {
			return proxy.New(target, proxy.NewTransport())
		}},
		{"proxy=NewTransport+BufferPool", func(target *url.URL) http.Handler {
			p := proxy.New(target, proxy.NewTransport())
			p.BufferPool = &bufferPool{}
			return p
		}},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			var dials atomic.Int64
			back := httptest.NewUnstartedServer(backend.New("A"))
			back.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					dials.Add(1)
				}
			}
			back.Start()
			defer back.Close()

			base := back.URL
			if bc.newProxy != nil {
				target, err := proxy.ParseTarget(back.URL)
				if err != nil {
					b.Fatal(err)
				}
				front := httptest.NewServer(bc.newProxy(target))
				defer front.Close()
				base = front.URL
			}
			// The client keeps a connection per goroutine, so that only the
			// proxy's Transport differs between the cases.
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024}}
			defer client.CloseIdleConnections()

			b.ReportAllocs()
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := client.Get(base + "/")
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("GET /: %s", resp.Status)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(dials.Load())/float64(b.N), "dials/op")
		})
	}
}

// bufferPool lends the ReverseProxy 32 KiB copy buffers from a sync.Pool.
type bufferPool struct{ pool sync.Pool }

func (p *bufferPool) Get() []byte {
	if b, ok := p.pool.Get().(*[]byte); ok {
		return *b
	}
	return make([]byte, 32<<10)
}

func (p *bufferPool) Put(b []byte) { p.pool.Put(&b) }
