// Command demo is part 1's demo gateway: the demo backends behind a
// reverse proxy, wrapped in the course's default middleware onion. It
// shows each layer at work: request ids, API keys (401 and 403), body
// limits (413), rate limits (429), CORS preflights, timeouts (504),
// recovery from a panic (500) and Prometheus metrics.
//
//	go run ./06-middleware/demo
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/02-single-proxy/proxy"
	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/06-middleware/onion"
)

func main() { serve.Main("06-middleware/demo", run) }

// The demo's API keys: demo may use every path, guest only /b.
const (
	demoKey  = "demo-key"
	guestKey = "guest-key"
)

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("06-middleware/demo", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8080", "`address` the gateway listens on")
	perSecond := fs.Float64("rate", 5, "requests per `second` each client IP may sustain")
	burst := fs.Int("burst", 10, "requests each client IP may send at once")
	maxBody := fs.Int64("max-body", 1<<20, "largest request body, in `bytes`")
	timeout := fs.Duration("timeout", 5*time.Second, "deadline of each request")
	if err := serve.Parse(fs, args); err != nil {
		return err
	}
	switch {
	case *perSecond < 0:
		return serve.Usagef("-rate %v: want a rate of 0 or more", *perSecond)
	case *burst < 1:
		return serve.Usagef("-burst %d: want 1 or more", *burst)
	case *maxBody < 0:
		return serve.Usagef("-max-body %d: want 0 or more bytes", *maxBody)
	case *timeout <= 0:
		return serve.Usagef("-timeout %v: want a positive duration", *timeout)
	}

	var g serve.Group
	urls, err := backend.Listen(&g, []string{"127.0.0.1:0", "127.0.0.1:0"})
	if err != nil {
		return err
	}
	h, err := gateway(urls, rate.Limit(*perSecond), *burst, *maxBody, *timeout)
	if err != nil {
		g.Close()
		return err
	}
	ln, err := serve.Listen(*listen)
	if err != nil {
		g.Close()
		return err
	}
	g.Handle(h, ln)

	for i, u := range urls {
		fmt.Fprintf(stdout, "backend %s listening on %s\n", backend.Name(i), u)
	}
	gw := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "gateway listening on %s (API keys: %s, %s)\n", gw, demoKey, guestKey)
	fmt.Fprintf(stdout, "Try:\n")
	fmt.Fprintf(stdout, "  curl -si -H 'X-Api-Key: %s' %s/\n", demoKey, gw)
	fmt.Fprintf(stdout, "  curl -s %s/b/\n", gw)
	fmt.Fprintf(stdout, "  curl -s -H 'X-Api-Key: %s' %s/\n", guestKey, gw)
	fmt.Fprintf(stdout, "  curl -s '%s/metrics?name=gateway_requests_total'\n", gw)
	fmt.Fprintf(stdout, "Stop with Ctrl-C.\n")

	err = g.Run(ctx)
	fmt.Fprintln(stdout, "stopped")
	return err
}

// gateway builds the demo's onion with the slice router: the layers every
// request goes through (up to metrics), then /metrics on its own, and the
// routes to the backends behind the rest of the default layers.
func gateway(urls []string, perSecond rate.Limit, burst int, maxBody int64, timeout time.Duration) (http.Handler, error) {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil)) // stdout is for the program's own lines
	auth, err := middleware.NewAuth(middleware.AuthConfig{APIKeys: []middleware.Credential{
		{ID: "demo", Secret: demoKey},
		{ID: "guest", Secret: guestKey, Allow: []string{"/b"}},
	}})
	if err != nil {
		return nil, err
	}
	metrics := middleware.NewMetrics(prometheus.NewRegistry())
	stack := middleware.Default(middleware.Options{
		Logger:  logger,
		Metrics: metrics,
		CORS: &middleware.CORSConfig{
			Origins: []string{"https://app.example"},
			Headers: []string{middleware.HeaderAPIKey, "Authorization", "Content-Type"},
			MaxAge:  10 * time.Minute,
		},
		RateLimiter: middleware.NewRateLimiter(middleware.RateLimit{Rate: perSecond, Burst: burst}),
		MaxBody:     maxBody,
		Auth:        auth,
		Timeout:     timeout,
		Breakers:    middleware.NewBreakers(middleware.BreakerConfig{}),
	})
	split := slices.IndexFunc(stack, func(l middleware.Layer) bool { return l.Name == "cors" })
	global, api := stack[:split], stack[split:]

	r := onion.NewRouter(global.Handlers()...)
	r.Handle("/metrics", onion.FromHandler(metrics.Handler()))
	routes := r.Group("/", api.Handlers()...)
	for i, u := range urls {
		target, err := proxy.ParseTarget(u)
		if err != nil {
			return nil, err
		}
		p := upstream(backend.Name(i), proxy.New(target, nil))
		if i == 0 {
			routes.Handle("/", onion.FromHandler(p))
		} else {
			prefix := "/" + string(rune('a'+i)) // /b for backend B
			routes.Handle(prefix, onion.FromHandler(http.StripPrefix(prefix, p)))
		}
	}
	routes.Handle("/debug/panic", onion.FromHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("a bug in a handler") // Recover answers 500, the gateway goes on
	})))
	return r, nil
}

// upstream reports name as the request's upstream (for the access log and
// the metrics), then proxies.
func upstream(name string, p http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		middleware.SetUpstream(r, name)
		p.ServeHTTP(w, r)
	})
}
