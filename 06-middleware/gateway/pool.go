package gateway

import (
	"context"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocourse/gateway/02-single-proxy/proxy"
	"github.com/gocourse/gateway/05-balancers/balancer"
	"github.com/gocourse/gateway/06-middleware/config"
	"github.com/gocourse/gateway/06-middleware/direct"
	"github.com/gocourse/gateway/06-middleware/health"
)

// pool is one upstream pool: its balancer, its transport, and its active
// health checker. The transport is package direct's, which sends the
// common request (no body, or a small one the retry rules already hold
// in memory) on the calling goroutine, with one shared http.Transport
// behind it for everything else (streamed bodies, upgrades, https). It is the RoundTripper of every route that
// sends requests to it (see roundtrip.go): the ReverseProxy hands it a
// request, and the pool picks a backend, sends the request, and tries
// another backend when the rules of retry.go allow.
type pool struct {
	cfg       *config.Pool
	bal       balancer.Balancer
	key       balancer.Key
	transport *direct.Transport
	targets   map[string]*config.Target // id (base URL) -> target
	weights   map[string]int
	epochs    map[string]*atomic.Uint64 // id -> times active checks took it out (see setUp)
	failures  map[string]*atomic.Uint64 // id -> attempts that failed (see failed)
	retries   atomic.Uint64             // attempts after a request's first
	checker   *health.Checker           // nil when checks are off
	now       func() time.Time
	log       *slog.Logger

	// placeholder is the URL the ReverseProxy aims every request at; the
	// pool swaps in a real backend per attempt.
	placeholder *url.URL

	mu       sync.Mutex // serialises balancer membership changes
	stopLoop context.CancelFunc
	loopDone chan struct{} // closed when the loop start began has ended
	retired  atomic.Bool   // stop has run: keep no connection idle (see release)

	// back is the backends the replaced pool's checks had taken out that
	// this pool puts back, with why (see newPool); swap logs them.
	back    []string
	backWhy string
}

// dialWith is the dial function of a pool whose dialer is d: d's own. Both
// of a pool's transports dial with it. A test replaces it to learn which
// dialer each transport dials with: timing the dial could tell the pool's
// dial_timeout from a transport's default only on a machine fast enough.
var dialWith = func(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return d.DialContext
}

// newPool builds the pool cfg describes. If old is the same pool from the
// configuration being replaced, what its checker knows carries over: a
// backend it found down starts down (unless the check itself changed:
// see health.Checker.Adopt).
func newPool(cfg *config.Pool, old *pool, now func() time.Time, log *slog.Logger) (*pool, error) {
	opts := cfg.BalancerOptions()
	opts.Now = now
	bal, err := balancer.New(cfg.Balancer, opts)
	if err != nil {
		return nil, err
	}
	key, err := balancer.ParseKey(cfg.Key)
	if err != nil {
		return nil, err
	}
	std := proxy.NewTransport()
	std.DialContext = dialWith(&net.Dialer{Timeout: cfg.Transport.DialTimeout, KeepAlive: 30 * time.Second})
	std.ResponseHeaderTimeout = cfg.Transport.ResponseHeaderTimeout
	std.MaxIdleConnsPerHost = cfg.Transport.MaxIdleConnsPerHost
	// A proxy passes the client's Accept-Encoding and the backend's bytes
	// through as they are: no gzip asked for on the client's behalf and
	// unzipped on the way back, as http.Transport does by default.
	std.DisableCompression = true
	t := &direct.Transport{
		Fallback:              std,
		DialContext:           std.DialContext,
		MaxIdlePerHost:        std.MaxIdleConnsPerHost,
		IdleTimeout:           std.IdleConnTimeout,
		ResponseHeaderTimeout: std.ResponseHeaderTimeout,
		ResponseBodyTimeout:   cfg.Transport.ResponseBodyTimeout,
		Now:                   now,
	}

	p := &pool{
		cfg: cfg, bal: bal, key: key, transport: t, now: now, log: log,
		targets:     map[string]*config.Target{},
		weights:     map[string]int{},
		epochs:      map[string]*atomic.Uint64{},
		failures:    map[string]*atomic.Uint64{},
		placeholder: &url.URL{Scheme: "http", Host: cfg.Name},
	}
	ids := make([]string, len(cfg.Targets))
	for i := range cfg.Targets {
		tg := &cfg.Targets[i]
		ids[i] = tg.URL.String()
		p.targets[ids[i]] = tg
		p.weights[ids[i]] = tg.Weight
		p.epochs[ids[i]] = new(atomic.Uint64)
		p.failures[ids[i]] = new(atomic.Uint64)
	}
	down := map[string]bool{}
	if h := cfg.Health; h.Path != "" {
		p.checker = health.New(ids, health.Options{
			Path: h.Path, Timeout: h.Timeout, Status: h.Status, Rise: h.Rise, Fall: h.Fall,
			Now: now, OnChange: p.setUp,
		})
		if old != nil && old.checker != nil {
			for _, id := range p.checker.Adopt(old.checker) {
				down[id] = true
			}
		}
	}
	for _, id := range ids {
		if !down[id] {
			if err := bal.Add(id, p.weights[id]); err != nil {
				return nil, err
			}
		}
	}
	// With another check, or none, nothing carried over: every backend
	// starts up, those the old checks had taken out too. The log's last
	// word on them was "backend down", so swap says they are back, once
	// this pool is sure to serve (TestAReloadThatPutsABackendBackLogsIt).
	if old != nil && old.checker != nil && (p.checker == nil || !p.checker.SameCheck(old.checker)) {
		p.backWhy = "reload: health checks off"
		if p.checker != nil {
			p.backWhy = "reload: another health check, not yet run"
		}
		for _, s := range old.checker.States() {
			if !s.Up && p.targets[s.Target] != nil {
				p.back = append(p.back, s.Target)
			}
		}
	}
	return p, nil
}

// setUp is the checker's OnChange: active health decides whether a
// backend is in the balancer at all; passive health (the balancer's own)
// decides among those in it. Each change is logged, with the check that
// decided it, as HAProxy logs "Server ... is DOWN, reason: ...": an
// operator sees why a backend stopped getting requests, and when it came
// back, without polling the admin endpoint.
//
// A backend taken out starts a new epoch. A request picked before keeps
// running, and its Report, which names a backend and not a pick, would
// count for the backend once it is back: a late failure would take a
// backend that just passed its checks out again (with max_fails 1, for
// fail_timeout). So a pick notes the epoch, and its Report is dropped
// once the epoch has moved on (see report).
func (p *pool) setUp(s health.State) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id := s.Target
	if s.Up {
		p.bal.Add(id, p.weights[id]) // an error means it is already in
		p.log.Info("backend up", "pool", p.cfg.Name, "backend", id, "checks", s.Checks)
	} else {
		p.bal.Remove(id)
		p.epochs[id].Add(1)
		p.log.Warn("backend down", "pool", p.cfg.Name, "backend", id, "reason", s.Last, "checks", s.Checks)
	}
}

// start runs the pool's health checks until stop, one round per tick.
func (p *pool) start(ctx context.Context, newTicker func(time.Duration) (<-chan time.Time, func())) {
	if p.checker == nil {
		return
	}
	ctx, p.stopLoop = context.WithCancel(ctx)
	p.loopDone = make(chan struct{})
	ticks, stopTicker := newTicker(p.cfg.Health.Interval)
	go func() {
		defer close(p.loopDone)
		defer stopTicker()
		p.checker.Run(ctx, ticks)
	}()
}

// stop ends the health checks, and returns once their loop has (a check
// in progress is cancelled, and not counted), so that nothing of a pool a
// reload replaced, or of a closed gateway, still runs. It closes idle
// connections; requests in flight keep theirs and finish, and give them
// up as they do (release).
func (p *pool) stop() {
	p.retired.Store(true)
	if p.stopLoop != nil {
		p.stopLoop()
		<-p.loopDone
	}
	if p.checker != nil {
		p.checker.Close()
	}
	p.transport.CloseIdleConnections()
}

// release closes the idle connections of a stopped pool, after each
// response of a request still running on it. CloseIdleConnections lasts
// only until the transport's next request, as http.Transport's does, and
// a request that began before a reload may start an attempt on the pool
// after it was stopped (a retry, or its first, if it was slow to get
// here): its connection, and those of every request after it, would go
// back to an idle list nobody closes, for the idle timeout
// (TestARetryAfterAReloadLeavesNoConnection).
func (p *pool) release() {
	if p.retired.Load() {
		p.transport.CloseIdleConnections()
	}
}
