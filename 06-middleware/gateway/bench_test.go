package gateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkRouterMatch measures choosing a route among a few hosts and
// prefixes: it should allocate nothing.
func BenchmarkRouterMatch(b *testing.B) {
	src := &fakeSource{text: `
pools: {p: {targets: ["http://127.0.0.1:1"]}}
routes:
  - {path: /, pool: p}
  - {path: /api, pool: p}
  - {path: /api/v2, pool: p}
  - {host: "*.example.com", path: /api, pool: p}
  - {host: shop.example.com, path: /api/v2/cart, pool: p}
`}
	g, err := New(context.Background(), src.read, Options{ManualChecks: true, Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	rt := g.cur.Load().router
	req := httptest.NewRequest("GET", "http://shop.example.com/api/v2/users", nil)
	b.ReportAllocs()
	for b.Loop() {
		if rt.match(req) == nil {
			b.Fatal("no route")
		}
	}
}

// BenchmarkGatewayRequest measures one GET through the gateway (no
// middleware) to a backend on loopback: ServeHTTP, the Rewrite proxy,
// the pool's pick, send and report.
func BenchmarkGatewayRequest(b *testing.B) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer backend.Close()
	src := &fakeSource{text: "pools: {p: {targets: [\"" + backend.URL + "\"]}}\nroutes: [{pool: p}]\n"}
	g, err := New(context.Background(), src.read, Options{ManualChecks: true, Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	req := httptest.NewRequest("GET", "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
