// Package balanced is stage 04's multi-target proxy with the random pick
// replaced by any balancer.Balancer, and the one thing a balancer needs
// that a pick function cannot give it: the outcome of each request.
//
// Every request goes through three steps:
//
//	pick    the balancer chooses a backend for the request's key
//	proxy   the rewrite proxy forwards the request and streams the answer
//	report  the balancer learns how it went: Failure if the backend could
//	        not be reached or timed out, Success otherwise
//
// Reports are what make a dead backend's traffic move to the others:
// after max_fails failures the balancer skips it. When every backend is
// down, the client gets a 503 that says so.
package balanced

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"

	"github.com/gocourse/gateway/02-single-proxy/proxy"
	"github.com/gocourse/gateway/03-director/rewrite"
	"github.com/gocourse/gateway/04-multi-target/multitarget"
	"github.com/gocourse/gateway/05-balancers/balancer"
)

// Target is a backend and its weight.
type Target struct {
	URL    *url.URL
	Weight int
}

// Options configure New.
type Options struct {
	// Rewrite says what the proxy does to requests and responses (see
	// package rewrite). Its ErrorHandler answers requests that fail; nil
	// means rewrite.ErrorHandler, or rewrite.TerseErrorHandler with
	// HideBackend, as in package rewrite.
	Rewrite rewrite.Options
	// Key extracts a request's key for hash balancers; nil means none.
	Key balancer.Key
}

// Proxy sends each request to the backend its balancer picks.
type Proxy struct {
	balancer balancer.Balancer
	key      balancer.Key
	targets  map[string]*url.URL // balancer id -> target
	proxy    *rewrite.Proxy
}

// New adds targets to b, identified by their URLs, and returns a proxy in
// front of them.
func New(b balancer.Balancer, targets []Target, opts Options) (*Proxy, error) {
	if len(targets) == 0 {
		return nil, multitarget.ErrNoTargets
	}
	p := &Proxy{balancer: b, key: opts.Key, targets: map[string]*url.URL{}}
	if p.key == nil {
		p.key = func(*http.Request) string { return "" }
	}
	for _, t := range targets {
		id := t.URL.String()
		if err := b.Add(id, t.Weight); err != nil {
			return nil, err
		}
		p.targets[id] = t.URL
	}
	handleError := opts.Rewrite.ErrorHandler
	switch {
	case handleError != nil:
	case opts.Rewrite.HideBackend:
		handleError = rewrite.TerseErrorHandler
	default:
		handleError = rewrite.ErrorHandler
	}
	opts.Rewrite.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		if a, ok := r.Context().Value(attemptKey{}).(*attempt); ok && a.tripFailed && backendFailed(err) && !a.body.failed.Load() {
			a.outcome = balancer.Failure
		}
		handleError(w, r, err)
	}
	if opts.Rewrite.Transport == nil {
		opts.Rewrite.Transport = proxy.NewTransport() // rewrite's default
	}
	opts.Rewrite.Transport = tripWatcher{opts.Rewrite.Transport}
	p.proxy = rewrite.NewPicking(p.pick, opts.Rewrite)
	return p, nil
}

// attempt is one request's pick and outcome, carried in its context from
// the pick to the error handler to ServeHTTP.
type attempt struct {
	id      string // "" until a backend is picked
	outcome balancer.Outcome
	body    clientBody // the request's body, read through here
	// tripFailed is set when the transport could not get an answer from
	// the backend. Only then can an error be the backend's: ReverseProxy
	// also fails requests it never sent (an Upgrade header naming a
	// protocol that is not printable ASCII), and after a 101 the hijack
	// of the client's connection can fail.
	tripFailed bool
}

// tripWatcher is the transport, noting in the request's attempt whether
// the round trip failed. ReverseProxy calls it from ServeHTTP's goroutine,
// the one that reports.
type tripWatcher struct{ http.RoundTripper }

func (t tripWatcher) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.RoundTripper.RoundTrip(r)
	if a, ok := r.Context().Value(attemptKey{}).(*attempt); ok && err != nil {
		a.tripFailed = true
	}
	return res, err
}

// clientBody is a request body that remembers whether reading it failed.
// A body that breaks off (a client that closed its connection half way
// through an upload, or sent a malformed chunk) makes the transport fail
// with the body's error; that is the client's fault, not the backend's,
// and must not count against it: one client sending broken uploads
// would take a healthy backend out. (nginx, by default, reads the whole
// body before it picks a backend, proxy_request_buffering on, so a
// broken body never reaches one.) failed is atomic: the transport may
// read the body from its own goroutine while the error handler runs.
type clientBody struct {
	io.ReadCloser
	failed atomic.Bool
}

func (b *clientBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.failed.Store(true)
	}
	return n, err
}

type attemptKey struct{}

// ServeHTTP proxies r and reports the outcome once the response is over,
// so that a long stream counts as in flight for as long as it lasts.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := &attempt{outcome: balancer.Success}
	defer func() {
		if a.id != "" {
			p.balancer.Report(a.id, a.outcome)
		}
	}()
	r = r.WithContext(context.WithValue(r.Context(), attemptKey{}, a))
	if r.Body != nil && r.Body != http.NoBody {
		a.body.ReadCloser, r.Body = r.Body, &a.body
	}
	p.proxy.ServeHTTP(w, r)
}

// pick is the rewrite.Picker: the balancer's choice for r's key.
func (p *Proxy) pick(r *http.Request) (*url.URL, error) {
	id, err := p.balancer.Pick(p.key(r))
	if err != nil {
		return nil, noBackend{err}
	}
	if a, ok := r.Context().Value(attemptKey{}).(*attempt); ok {
		a.id = id
	}
	return p.targets[id], nil
}

// backendFailed reports whether err is the backend's fault, as nginx's
// "error" and "timeout" are: not a client that went away, not a request
// for which no backend was picked.
func backendFailed(err error) bool {
	return !errors.Is(err, context.Canceled) && !errors.Is(err, rewrite.ErrNoTarget)
}

// noBackend is a balancer's ErrNoBackend that also matches
// rewrite.ErrNoTarget, which the error handler answers with a 503; its
// message is the balancer's, which says why.
type noBackend struct{ err error }

func (e noBackend) Error() string        { return e.err.Error() }
func (e noBackend) Unwrap() error        { return e.err }
func (e noBackend) Is(target error) bool { return target == rewrite.ErrNoTarget }
