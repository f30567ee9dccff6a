// Package gateway is the course's API gateway: routes that send requests
// through a chain of middleware to pools of backends, each pool with a
// balancer, active health checks, retries and its own transport, all
// described by one configuration file (package config) that can be
// reloaded while the gateway serves.
//
// The whole running configuration is one immutable value, a state, behind
// an atomic.Pointer. A request loads the pointer once and uses that state
// to the end; a reload builds a complete new state aside and swaps the
// pointer. Nothing is locked on the request path, and a request in flight
// during a reload finishes on the state it started with.
package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gocourse/gateway/02-single-proxy/proxy"
	"github.com/gocourse/gateway/03-director/rewrite"
	"github.com/gocourse/gateway/06-middleware/config"
	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/06-middleware/onion"
)

// Source reads the configuration: a name for error messages (the file's)
// and its contents. A reload calls it again.
type Source func() (name string, data []byte, err error)

// Options configure a Gateway. The zero value is ready to use.
type Options struct {
	Registry *Registry    // the middleware a file may name; nil means DefaultRegistry()
	Logger   *slog.Logger // nil means slog.Default()
	// Now is the clock of balancers, health checks and middleware; nil
	// means time.Now.
	Now func() time.Time
	// NewTicker starts the ticks of a pool's health checks; nil means
	// time.NewTicker.
	NewTicker func(time.Duration) (ticks <-chan time.Time, stop func())
	// ManualChecks turns the health-check loops off: checks run only when
	// CheckNow is called, so a test knows exactly how many have run.
	ManualChecks bool
	// TuneRuntime lets the configuration's runtime section set the
	// garbage collector's knobs, at start and on every reload. They are
	// the process's, so it is for the program that owns the process
	// (Run sets it), not for a gateway built inside another program.
	TuneRuntime bool
	// ListenAddr and AdminAddr, when not empty, are the addresses the
	// servers were started on in place of the file's listen.addr and
	// admin.addr (Run's -listen and -admin). A reload compares the
	// addresses in use, not the file's: with -listen given, a file whose
	// listen.addr changed said the change waited for a restart, where no
	// restart with the same flags would apply it.
	ListenAddr, AdminAddr string
}

// Gateway serves requests according to its current configuration.
type Gateway struct {
	src     Source
	opts    Options
	prom    *prometheus.Registry
	metrics *middleware.Metrics
	buffers httputil.BufferPool // response bodies are copied through these, in every route
	ctx     context.Context     // health checks run until it is done

	mu     sync.Mutex // one reload at a time, and none during or after Close
	closed bool       // under mu: Close has run
	// first is the configuration New read: its listen and log sections
	// and admin address are those in use until a restart, whatever the
	// reloads since have read.
	first *config.Config
	cur   atomic.Pointer[state]

	// unrouted logs and counts the requests ServeHTTP answers before any
	// route's layers (unrouted.go); its log setting is first's.
	unrouted *unrouted
}

// ErrClosed is what Reload returns once the gateway is closed.
var ErrClosed = errors.New("gateway closed")

// ErrUnreadable is the error of a configuration that could not be read at
// all (a missing file, a permission denied): not a mistake in the file,
// so the admin endpoint answers it with 500, not 422.
var ErrUnreadable = errors.New("cannot read the configuration")

// state is one configuration, built: never changed once built.
type state struct {
	cfg    *config.Config
	router *router
	routes []*route
	pools  map[string]*pool
}

type route struct {
	cfg     *config.Route
	handler http.Handler // the middleware chain around the proxy, built once
}

// New loads the configuration from src and builds the gateway. Health
// checks run until ctx is done.
func New(ctx context.Context, src Source, opts Options) (*Gateway, error) {
	if opts.Registry == nil {
		opts.Registry = DefaultRegistry()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.NewTicker == nil {
		opts.NewTicker = func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		}
	}
	g := &Gateway{src: src, opts: opts, prom: prometheus.NewRegistry(), buffers: rewrite.NewBufferPool(), ctx: ctx}
	g.metrics = middleware.NewMetrics(g.prom)
	g.prom.MustRegister(healthCollector{g}, upstreamCollector{g})
	cfg, err := g.load()
	if err != nil {
		return nil, err
	}
	s, err := g.build(cfg, nil)
	if err != nil {
		return nil, err
	}
	g.first = cfg
	g.unrouted = newUnrouted(g.prom, opts.Logger, cfg.Log.Unrouted)
	g.swap(s)
	for _, w := range configWarnings(cfg) {
		g.opts.Logger.Warn(w)
	}
	if g.opts.TuneRuntime {
		for _, w := range runtimeWarnings(cfg.Runtime, os.Getenv) {
			g.opts.Logger.Warn(w)
		}
	}
	return g, nil
}

// load reads and checks the configuration.
func (g *Gateway) load() (*config.Config, error) {
	name, data, err := g.src()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	return config.Parse(name, data, g.opts.Registry)
}

// servers returns the listen section and admin address cfg would start
// the servers with: the file's, but for an address the command line gives
// (Options.ListenAddr, Options.AdminAddr), as Run does.
func (g *Gateway) servers(cfg *config.Config) (config.Listener, string) {
	l := cfg.Listen
	l.Addr = cmp.Or(g.opts.ListenAddr, l.Addr)
	return l, cmp.Or(g.opts.AdminAddr, cfg.Admin.Addr)
}

// Config returns the configuration being served.
func (g *Gateway) Config() *config.Config { return g.cur.Load().cfg }

// Reload reads the configuration again. If it is valid it replaces the
// current one at once: new requests use it, requests in flight finish on
// the old one. Pools whose settings did not change are kept as they are
// (balancer, connections, health); a changed pool starts with what the old
// one's checks knew about backends it still has, if its check is the
// same. If the new configuration is not valid, the error says why and the
// old one keeps serving.
//
// The listen and log sections and the admin address are read at start
// only: a reload that changes them says so, as long as the file differs
// from what the gateway started with in what the servers use. An address
// Options gives in place of the file's (Run's -listen, -admin) is not the
// file's to change: a reload that changes the file's says it is not used.
// The admin token is read at each request, so a reload changes it (or,
// removed, turns reload over HTTP off).
func (g *Gateway) Reload() error {
	_, err := g.reload()
	return err
}

// reload is Reload, and also returns the warnings it logged, for the
// admin endpoint to tell its caller: a reload that changes a section
// read at start only succeeds, and whoever asked for it over HTTP would
// otherwise believe the change applied; so does a file configWarnings
// has something to say about.
func (g *Gateway) reload() (warnings []string, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, ErrClosed
	}
	cfg, err := g.load()
	if err != nil {
		g.opts.Logger.Error("reload rejected; the configuration in use stays", "err", err)
		return nil, err
	}
	newListen, newAdmin := g.servers(cfg)
	if oldListen, oldAdmin := g.servers(g.first); newListen != oldListen || newAdmin != oldAdmin {
		warnings = append(warnings, "reload: listen and admin addresses and limits change only on restart")
	}
	if g.opts.ListenAddr != "" && cfg.Listen.Addr != g.first.Listen.Addr {
		warnings = append(warnings, "reload: listen.addr is not used: -listen gives the address")
	}
	if g.opts.AdminAddr != "" && cfg.Admin.Addr != g.first.Admin.Addr {
		warnings = append(warnings, "reload: admin.addr is not used: -admin gives the address")
	}
	if cfg.Log != g.first.Log {
		warnings = append(warnings, "reload: the log section changes only on restart")
	}
	warnings = append(warnings, configWarnings(cfg)...)
	if g.opts.TuneRuntime {
		warnings = append(warnings, runtimeWarnings(cfg.Runtime, os.Getenv)...)
	}
	s, err := g.build(cfg, g.cur.Load())
	if err != nil {
		g.opts.Logger.Error("reload rejected; the configuration in use stays", "err", err)
		return nil, err
	}
	g.swap(s)
	// The requests' series of the backends just removed go now, scraped
	// or not (a gateway with no admin listener is never scraped); a scrape
	// deletes those that requests in flight recreate after this.
	g.metrics.Retain(g.hasBackend)
	// The warnings are about cfg, so they are logged once it serves, in
	// the order of the admin's answer: logged before build, they told of
	// a file that a failed build then rejected
	// (TestARejectedReloadLogsNoWarningAboutItsFile).
	g.opts.Logger.Info("reloaded", "routes", len(cfg.Routes), "pools", len(cfg.Pools))
	for _, w := range warnings {
		g.opts.Logger.Warn(w)
	}
	return warnings, nil
}

// build makes a state from cfg, reusing old's pools where their settings
// are unchanged. It starts nothing: swap does.
func (g *Gateway) build(cfg *config.Config, old *state) (*state, error) {
	s := &state{cfg: cfg, pools: map[string]*pool{}}
	for name, pc := range cfg.Pools {
		var prev *pool
		if old != nil {
			prev = old.pools[name]
		}
		if prev != nil && reflect.DeepEqual(prev.cfg, pc) {
			s.pools[name] = prev
			continue
		}
		p, err := newPool(pc, prev, g.opts.Now, g.opts.Logger)
		if err != nil {
			return nil, fmt.Errorf("pool %s: %w", name, err)
		}
		s.pools[name] = p
	}
	var oldRoutes map[routeKey]*route
	if old != nil {
		oldRoutes = make(map[routeKey]*route, len(old.routes))
		for _, r := range old.routes {
			oldRoutes[routeKey{r.cfg.Host, r.cfg.Path}] = r
		}
	}
	routes := make([]*route, len(cfg.Routes))
	for i := range cfg.Routes {
		rc := &cfg.Routes[i]
		if prev := unchangedRoute(old, oldRoutes, rc, s.pools[rc.Pool]); prev != nil {
			routes[i] = &route{cfg: rc, handler: prev.handler}
			continue
		}
		h, err := g.routeHandler(rc, s.pools[rc.Pool])
		if err != nil {
			return nil, fmt.Errorf("route %s: %w", rc.Name, err)
		}
		routes[i] = &route{cfg: rc, handler: h}
	}
	s.router = newRouter(routes)
	s.routes = routes
	return s, nil
}

// unchangedRoute returns old's route for rc if rc is the same route (the
// same settings and middleware, wherever it now sits in the file) on the
// same pool, or nil. Its handler is reused as it is, so that what its
// layers know (a breaker's open circuit, a rate limiter's buckets)
// survives a reload that did not touch the route.
//
// The candidate is found by host and path (byKey, old's routes), which a
// file cannot give two routes: compared with every old route in turn, a
// reload of n routes cost n²/2 comparisons, a second under the reload
// lock for 2,000 routes (TestReloadCostGrowsLinearlyWithTheRoutes).
func unchangedRoute(old *state, byKey map[routeKey]*route, rc *config.Route, p *pool) *route {
	if old == nil || old.pools[rc.Pool] != p {
		return nil
	}
	r := byKey[routeKey{rc.Host, rc.Path}]
	if r == nil {
		return nil
	}
	a, b := *r.cfg, *rc
	a.Line, b.Line = 0, 0
	if !reflect.DeepEqual(a, b) {
		return nil
	}
	return r
}

// routeKey is what no two routes of a file share: host and path.
type routeKey struct{ host, path string }

// routeHandler builds a route's onion, once: its middleware, outermost
// first, around a proxy to its pool.
func (g *Gateway) routeHandler(rc *config.Route, p *pool) (http.Handler, error) {
	env := Env{Logger: g.opts.Logger, Metrics: g.metrics, Now: g.opts.Now, Route: rc.Name}
	chain := make(onion.Chain, len(rc.Middleware))
	for i, m := range rc.Middleware {
		mw, err := g.opts.Registry.Build(m, env)
		if err != nil {
			return nil, fmt.Errorf("middleware %s: %w", m.Name, err)
		}
		chain[i] = mw
	}
	opts := rewrite.Options{
		PreserveHost: rc.PreserveHost,
		XForwarded:   true,
		// A backend's redirect to its own address comes back through
		// the route, its stripped prefix restored (nginx's default).
		RewriteRedirects: true,
		Transport:        p,
		ErrorHandler:     errorHandler,
		BufferPool:       g.buffers,
	}
	if rc.StripPrefix && rc.Path != "/" {
		opts.StripPrefix = rc.Path
	}
	rp := rewrite.New(p.placeholder, opts)
	h := chain.Then(rp)
	if len(chain) == 0 {
		return h, nil // no layer to tell the route
	}
	// The route goes in before the first layer, for the access log and
	// metrics: set by the proxy, it would miss every request a layer
	// refuses (TestARefusedRequestIsCountedUnderItsRoute).
	name := rc.Name
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, middleware.WithRoute(r, name))
	}), nil
}

// swap makes s the state in use. First the new pools of s run a round of
// health checks (bounded by their timeout), so that no request goes to a
// backend never checked, and then start their loops: started beside that
// round, a loop could run another, and count two checks of a backend made
// at once as two in a row. Once s is in use, the pools it no longer uses
// stop theirs. Backends a new pool puts back that the old one's checks
// had taken out are logged first: swap is only called once the reload
// can no longer fail.
func (g *Gateway) swap(s *state) {
	old := g.cur.Load()
	if old != nil {
		for name, p := range s.pools {
			if old.pools[name] != p {
				for _, id := range p.back {
					g.opts.Logger.Info("backend up", "pool", name, "backend", id, "reason", p.backWhy)
				}
			}
		}
	}
	if !g.opts.ManualChecks {
		var wg sync.WaitGroup
		var fresh []*pool
		for name, p := range s.pools {
			if p.checker != nil && (old == nil || old.pools[name] != p) {
				wg.Go(func() { p.checker.CheckNow(g.ctx) })
				fresh = append(fresh, p)
			}
		}
		wg.Wait()
		for _, p := range fresh {
			p.start(g.ctx, g.opts.NewTicker)
		}
	}
	g.cur.Store(s)
	if g.opts.TuneRuntime {
		tuneRuntime(s.cfg.Runtime)
	}
	if old == nil {
		return
	}
	for name, p := range old.pools {
		if s.pools[name] != p {
			p.stop()
		}
	}
}

// ServeHTTP routes r with the configuration in use when it arrived.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	proxy.CloseDoubtfulFraming(w, r) // a request smuggled after a chunked body: chapter 02
	// A gateway forwards requests for paths. CONNECT asks for a tunnel,
	// a forward proxy's job; "GET *" names no resource (net/http answers
	// "OPTIONS *" itself); and "GET x:admin" is a scheme and an opaque
	// rest, with an empty path. Forwarded, they would reach a backend as
	// "CONNECT /", "/%2A" and "admin" (routed as "/", and never checked
	// for dot segments). TRACE asks the last server to echo the request
	// it got: a backend's echo would show a page the cookies and
	// credentials its browser attached, and the fields the gateway added.
	// The gateway implements it for no route, so 501, not a 405 (whose
	// Allow would have to list what the backend's resource supports, RFC
	// 9110, sections 9.1 and 15.5.6); TRACK is IIS's name for it.
	switch {
	case r.Method == http.MethodConnect:
		g.unrouted.refuse(w, r, refusedConnect, "not implemented: CONNECT; this gateway is not a forward proxy", http.StatusNotImplemented)
		return
	case r.Method == http.MethodTrace || r.Method == "TRACK":
		g.unrouted.refuse(w, r, refusedTrace, "not implemented: "+r.Method+"; this gateway echoes no request to its sender", http.StatusNotImplemented)
		return
	case r.URL.Opaque != "" || r.URL.Path != "" && r.URL.Path[0] != '/':
		g.unrouted.refuse(w, r, refusedTarget, fmt.Sprintf("bad request: request target %q is not a path", cmp.Or(r.RequestURI, r.URL.String())), http.StatusBadRequest)
		return
	}
	if up := upgradeTo(r.Header); !printable(up) {
		// httputil.ReverseProxy refuses to forward such an upgrade, but
		// through its ErrorHandler, whose errors are the backend's: a
		// 502, which the layers count as the backend failing (with a
		// breaker on the route, a few of them closed it to everyone).
		// The request is the client's mistake, and no backend saw it.
		g.unrouted.refuse(w, r, refusedUpgrade, fmt.Sprintf("bad request: Upgrade %q is not a protocol name (printable ASCII)", up), http.StatusBadRequest)
		return
	}
	if seg, ok := dotSegmentIn(r.URL); ok {
		g.unrouted.refuse(w, r, refusedDotSegment, fmt.Sprintf("bad request: path %q has a %q segment; send it resolved", r.URL.Path, seg), http.StatusBadRequest)
		return
	}
	if err := queryProblem(r.URL.RawQuery); err != nil {
		g.unrouted.refuse(w, r, refusedQuery, fmt.Sprintf("bad request: the query does not parse: %v; send each pair %%-encoded, separated by '&'", err), http.StatusBadRequest)
		return
	}
	rt := g.cur.Load().router.match(r)
	if rt == nil {
		g.unrouted.refuse(w, r, refusedNoRoute, fmt.Sprintf("not found: no route for host %q path %q", hostOnly(r.Host), r.URL.Path), http.StatusNotFound)
		return
	}
	if rt.cfg.StripPrefix && !prefixMatches(rt.cfg.Path, r.URL.Path) {
		// The route matched the path's normal form only ("//v1/users",
		// "/v1;x/users"): the prefix to strip is in that form, not in
		// the path as sent, so that form goes on.
		r = withNormalPath(r)
	}
	rt.handler.ServeHTTP(w, r)
}

// queryProblem returns why a query does not parse as url.ParseQuery
// reads it, or nil. The proxy would not forward such a query as sent:
// httputil.ReverseProxy re-encodes it without the pairs it cannot read
// (a ';', a bad %-escape, more pairs than net/url allows), so
// "DELETE /objects/k?version=1;" would reach the backend as "DELETE
// /objects/k", a request the client never made. Refused, the client
// learns what is wrong. The scan first keeps ParseQuery, which builds a
// map, off the path of the queries that are fine, as nearly all are.
func queryProblem(q string) error {
	suspect := strings.Count(q, "&") >= 10000 // net/url's default limit on pairs, less one
	for i := 0; i < len(q) && !suspect; i++ {
		switch q[i] {
		case ';':
			suspect = true
		case '%':
			suspect = i+2 >= len(q) || !isHex(q[i+1]) || !isHex(q[i+2])
		}
	}
	if !suspect {
		return nil
	}
	_, err := url.ParseQuery(q)
	return err
}

// printable reports whether s is printable ASCII, which is what
// httputil.ReverseProxy asks of the protocol a client's Upgrade names.
func printable(s string) bool {
	for i := range len(s) {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// withNormalPath returns a shallow copy of r whose URL has the path's
// normal form (routePath), encoded form included.
func withNormalPath(r *http.Request) *http.Request {
	u := *r.URL
	u.Path = routePath(&u)
	if u.RawPath != "" {
		u.RawPath = normalPath(u.RawPath, true) // if it no longer encodes Path, URL.EscapedPath ignores it
	}
	r2 := *r
	r2.URL = &u
	return &r2
}

// CheckNow runs one round of active health checks in every pool that has
// them, and returns when their results are counted.
func (g *Gateway) CheckNow(ctx context.Context) {
	var wg sync.WaitGroup
	for _, p := range g.cur.Load().pools {
		if p.checker != nil {
			wg.Go(func() { p.checker.CheckNow(ctx) })
		}
	}
	wg.Wait()
}

// Close stops every health check and closes idle connections. It waits
// for a reload in progress, so that no pool a reload starts is left
// running, and later reloads fail with ErrClosed.
func (g *Gateway) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	g.closed = true
	for _, p := range g.cur.Load().pools {
		p.stop()
	}
}
