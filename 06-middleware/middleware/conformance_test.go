package middleware_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/conformance"
	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/06-middleware/onion"
)

// TestConformance runs every middleware of the set through the same
// checks a learner's middleware must pass.
func TestConformance(t *testing.T) {
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	auth, err := middleware.NewAuth(middleware.AuthConfig{APIKeys: []middleware.Credential{{ID: "alice", Secret: "alice-key"}}})
	require.NoError(t, err)
	subjects := map[string]func() onion.Middleware{
		"AccessLog": func() onion.Middleware { return middleware.AccessLog(discard) },
		"Recover":   func() onion.Middleware { return middleware.Recover(discard) },
		"RequestID": func() onion.Middleware { return middleware.RequestID(nil) },
		"RateLimit": func() onion.Middleware {
			return middleware.NewRateLimiter(middleware.RateLimit{Rate: 1, Burst: 100}).Wrap
		},
		"Auth":     func() onion.Middleware { return auth.Wrap },
		"Timeout":  func() onion.Middleware { return middleware.Timeout(time.Minute) },
		"CORS":     func() onion.Middleware { return middleware.CORS(middleware.CORSConfig{Origins: []string{"*"}}) },
		"MaxBody":  func() onion.Middleware { return middleware.MaxBody(10) },
		"Metrics":  func() onion.Middleware { return middleware.NewMetrics(prometheus.NewRegistry()).Wrap },
		"Breakers": func() onion.Middleware { return middleware.NewBreakers(middleware.BreakerConfig{}).Wrap },
		"Cache":    func() onion.Middleware { return middleware.NewCache(middleware.CacheConfig{}).Wrap },
		"Default": func() onion.Middleware {
			return middleware.Default(middleware.Options{Logger: discard, Auth: auth, MaxBody: 10}).Chain().Then
		},
	}
	for name, m := range subjects {
		t.Run(name, func(t *testing.T) {
			conformance.Test(t, conformance.Subject{New: m, Request: func() *http.Request {
				req := httptest.NewRequest("GET", "/", nil)
				req.Header.Set(middleware.HeaderAPIKey, "alice-key")
				req.Header.Set("Origin", "https://app.example")
				return req
			}})
		})
	}
}
