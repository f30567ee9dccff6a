package middleware

import (
	"log/slog"
	"time"

	"github.com/gocourse/gateway/06-middleware/onion"
)

// Layer is a named middleware, so that a stack can say what it holds.
type Layer struct {
	Name       string
	Middleware onion.Middleware
}

// Stack is a list of layers, outermost first.
type Stack []Layer

// Chain returns the stack for the chained onion.
func (s Stack) Chain() onion.Chain {
	c := make(onion.Chain, len(s))
	for i, l := range s {
		c[i] = l.Middleware
	}
	return c
}

// Handlers returns the stack for the slice onion (onion.Router).
func (s Stack) Handlers() []onion.HandlerFunc {
	hs := make([]onion.HandlerFunc, len(s))
	for i, l := range s {
		hs[i] = onion.FromMiddleware(l.Middleware)
	}
	return hs
}

// Names returns the layers' names, outermost first.
func (s Stack) Names() []string {
	names := make([]string, len(s))
	for i, l := range s {
		names[i] = l.Name
	}
	return names
}

// Options are the parts of the default stack. A nil or zero part leaves
// its layer out, except Recover, RequestID and AccessLog, which every
// gateway needs.
type Options struct {
	Logger      *slog.Logger  // access log and panics (nil: slog.Default())
	NewID       func() string // request ids (nil: NewID)
	Metrics     *Metrics
	CORS        *CORSConfig
	RateLimiter *RateLimiter
	MaxBody     int64 // bytes
	Auth        *Auth
	Timeout     time.Duration
	Breakers    *Breakers
}

// Default returns the gateway's layers in the order the chapter explains:
//
//	recover      outermost: catches a panic anywhere, even in the layers below
//	request-id   next, so that every log line and every answer carries the id
//	access-log   sees every answer, including the refusals of the layers below
//	metrics      counts them too
//	cors         answers preflights, which carry no credentials, before auth
//	rate-limit   before the costlier checks: a flood stops here, cheaply
//	body-limit   refuses an oversized upload before anything reads it
//	auth         who is asking, and may they
//	timeout      the deadline covers the upstream's time, and is a 504
//	breaker      innermost: sees only requests that will reach an upstream
func Default(o Options) Stack {
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	s := Stack{
		{"recover", Recover(logger)},
		{"request-id", RequestID(o.NewID)},
		{"access-log", AccessLog(logger)},
	}
	add := func(ok bool, name string, m func() onion.Middleware) {
		if ok {
			s = append(s, Layer{name, m()})
		}
	}
	add(o.Metrics != nil, "metrics", func() onion.Middleware { return o.Metrics.Wrap })
	add(o.CORS != nil, "cors", func() onion.Middleware { return CORS(*o.CORS) })
	add(o.RateLimiter != nil, "rate-limit", func() onion.Middleware { return o.RateLimiter.Wrap })
	add(o.MaxBody > 0, "body-limit", func() onion.Middleware { return MaxBody(o.MaxBody) })
	add(o.Auth != nil, "auth", func() onion.Middleware { return o.Auth.Wrap })
	add(o.Timeout > 0, "timeout", func() onion.Middleware { return Timeout(o.Timeout) })
	add(o.Breakers != nil, "breaker", func() onion.Middleware { return o.Breakers.Wrap })
	return s
}
