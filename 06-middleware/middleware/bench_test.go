package middleware_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/06-middleware/onion"
)

// discard is a ResponseWriter that keeps nothing, so that a benchmark
// measures the layers, not a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	middleware.SetUpstream(r, "A")
	io.WriteString(w, "hello")
})

// benchStack is the stack the performance target is about: recovery,
// request id, access log (to io.Discard, through the course's
// TextHandler), metrics, rate limit and auth.
func benchStack(b testing.TB, all bool) middleware.Stack {
	return benchStackLogging(b, all, middleware.NewTextHandler(io.Discard, nil))
}

// benchStackLogging is benchStack logging through h.
func benchStackLogging(b testing.TB, all bool, h slog.Handler) middleware.Stack {
	auth, err := middleware.NewAuth(middleware.AuthConfig{APIKeys: []middleware.Credential{
		{ID: "alice", Secret: "alice-key"}, {ID: "bob", Secret: "bob-key"},
	}})
	if err != nil {
		b.Fatal(err)
	}
	o := middleware.Options{
		Logger:      slog.New(h),
		Metrics:     middleware.NewMetrics(prometheus.NewRegistry()),
		RateLimiter: middleware.NewRateLimiter(middleware.RateLimit{Rate: rate.Inf}),
		Auth:        auth,
	}
	if all {
		o.CORS = &middleware.CORSConfig{Origins: []string{"https://app.example"}}
		o.MaxBody = 1 << 20
		o.Timeout = time.Minute
		o.Breakers = middleware.NewBreakers(middleware.BreakerConfig{})
	}
	return middleware.Default(o)
}

func serveLoop(b *testing.B, h http.Handler) {
	serve := server(h)
	b.ReportAllocs()
	for b.Loop() {
		serve()
	}
}

// server returns a function that serves one request, the same each time
// (with a key Auth accepts), through h.
func server(h http.Handler) func() {
	req := httptest.NewRequest("GET", "/api/x", nil)
	req.Header.Set(middleware.HeaderAPIKey, "bob-key")
	w := &discard{h: http.Header{}}
	return func() {
		clear(w.h)
		delete(req.Header, middleware.HeaderRequestID) // a new id for every request
		h.ServeHTTP(w, req)
	}
}

func router(layers []onion.HandlerFunc) http.Handler {
	r := onion.NewRouter(layers...)
	r.Handle("/", onion.FromHandler(hello))
	return r
}

func BenchmarkBare(b *testing.B) { serveLoop(b, hello) }

func BenchmarkEmpty(b *testing.B) {
	b.Run("chained", func(b *testing.B) { serveLoop(b, onion.Chain{}.Then(hello)) })
	b.Run("sliced", func(b *testing.B) { serveLoop(b, router(nil)) })
}

func BenchmarkDefault(b *testing.B) {
	b.Run("chained", func(b *testing.B) { serveLoop(b, benchStack(b, false).Chain().Then(hello)) })
	b.Run("sliced", func(b *testing.B) { serveLoop(b, router(benchStack(b, false).Handlers())) })
}

// BenchmarkDefaultSlogText is Default with log/slog's own TextHandler,
// which writes the same lines.
func BenchmarkDefaultSlogText(b *testing.B) {
	h := slog.NewTextHandler(io.Discard, nil)
	b.Run("chained", func(b *testing.B) { serveLoop(b, benchStackLogging(b, false, h).Chain().Then(hello)) })
	b.Run("sliced", func(b *testing.B) { serveLoop(b, router(benchStackLogging(b, false, h).Handlers())) })
}

// BenchmarkHandler measures the access log's line alone, in both handlers.
func BenchmarkHandler(b *testing.B) {
	for _, h := range []struct {
		name string
		h    slog.Handler
	}{
		{"slog.TextHandler", slog.NewTextHandler(io.Discard, nil)},
		{"middleware.TextHandler", middleware.NewTextHandler(io.Discard, nil)},
	} {
		b.Run(h.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				r := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
				r.AddAttrs(
					slog.String("method", "GET"), slog.String("path", "/api/x"), slog.Int("status", 200),
					slog.Int64("bytes", 5), slog.Duration("duration", 1500*time.Nanosecond),
					slog.String("upstream", "A"), slog.String("request_id", "9f86d081884c7d659a2feaa0c55ad015"),
					slog.String("client", "bob"),
				)
				h.h.Handle(ctx, r)
			}
		})
	}
}

func BenchmarkDefaultAllLayers(b *testing.B) {
	b.Run("chained", func(b *testing.B) { serveLoop(b, benchStack(b, true).Chain().Then(hello)) })
	b.Run("sliced", func(b *testing.B) { serveLoop(b, router(benchStack(b, true).Handlers())) })
}

// BenchmarkLayer measures each layer of the target stack alone.
func BenchmarkLayer(b *testing.B) {
	for _, l := range benchStack(b, true) {
		b.Run(l.Name, func(b *testing.B) { serveLoop(b, l.Middleware(hello)) })
	}
}
