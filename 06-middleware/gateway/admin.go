package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gocourse/gateway/02-single-proxy/proxy"
	"github.com/gocourse/gateway/06-middleware/health"
)

// PoolHealth is what GET /admin/health says about one pool.
type PoolHealth struct {
	Pool     string         `json:"pool"`
	Balancer string         `json:"balancer"`
	Check    string         `json:"health_check"` // the checked path, or "off"
	Targets  []health.State `json:"targets"`
}

// Health returns every pool's backends as the active checks see them,
// pools sorted by name. A pool without checks shows its backends up.
func (g *Gateway) Health() []PoolHealth {
	s := g.cur.Load()
	out := make([]PoolHealth, 0, len(s.pools))
	for _, name := range slices.Sorted(maps.Keys(s.pools)) {
		p := s.pools[name]
		ph := PoolHealth{Pool: name, Balancer: p.cfg.Balancer, Check: "off"}
		if p.checker != nil {
			ph.Check = p.cfg.Health.Path
			ph.Targets = p.checker.States()
		} else {
			for _, t := range p.cfg.Targets {
				ph.Targets = append(ph.Targets, health.State{Target: t.URL.String(), Up: true})
			}
		}
		out = append(out, ph)
	}
	return out
}

// Admin returns the handler of the admin listener:
//
//	GET  /admin/health   every pool's backends, as JSON (?pool=NAME for one)
//	POST /admin/reload   reload the configuration (Authorization: Bearer TOKEN)
//	GET  /metrics        Prometheus metrics: requests, latency, backend health,
//	                     failed attempts and retries
//
// It belongs on a listener of its own, bound to a private address: it
// says which backends exist, and a reload is an operator's action. On a
// loopback address it answers only requests addressed to loopback
// (onlyAddressedToLoopback: a browser's page cannot read it by DNS
// rebinding). Like the gateway's own listener, it closes the connection
// after a chunked or HTTP/1.0 request (proxy.FramingHandler): RFC 9112's
// rule is every server's, and a proxy put in front of /metrics would
// otherwise pass a smuggled POST /admin/reload.
func (g *Gateway) Admin() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		hs := g.Health()
		if name := r.URL.Query().Get("pool"); name != "" {
			hs = slices.DeleteFunc(hs, func(ph PoolHealth) bool { return ph.Pool != name })
			if len(hs) == 0 {
				http.Error(w, "no pool "+strconv.Quote(name), http.StatusNotFound)
				return
			}
		}
		enc.Encode(hs)
	})
	mux.HandleFunc("POST /admin/reload", func(w http.ResponseWriter, r *http.Request) {
		token := g.Config().Admin.Token
		if token == "" {
			http.Error(w, "forbidden: reload over HTTP is off; set admin.token in the configuration, or send SIGHUP", http.StatusForbidden)
			return
		}
		got, ok := bearer(r.Header.Get("Authorization"))
		// Digests, so that the comparison takes as long whatever the
		// length sent: ConstantTimeCompare returns at once when two
		// lengths differ, which tells the token's length (auth.go pads
		// its keys for the same reason).
		sent, want := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(token))
		if !ok || subtle.ConstantTimeCompare(sent[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gateway admin"`)
			http.Error(w, "unauthorized: send Authorization: Bearer <admin.token>", http.StatusUnauthorized)
			return
		}
		warnings, err := g.reload()
		if err != nil {
			http.Error(w, "reload rejected; the configuration in use stays:\n"+err.Error(), reloadStatus(err))
			return
		}
		w.Write([]byte("reloaded\n" + strings.Join(append(warnings, ""), "\n")))
	})
	scrape := promhttp.HandlerFor(g.prom, promhttp.HandlerOpts{})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		// At each scrape as well as at reload: a request that began
		// before a reload may count for a removed backend after it.
		g.metrics.Retain(g.hasBackend)
		scrape.ServeHTTP(w, r)
	})
	return proxy.FramingHandler(onlyAddressedToLoopback(mux))
}

// hasBackend reports whether host:port is a backend of the configuration
// in use, the upstream label the requests' metrics give it.
func (g *Gateway) hasBackend(host string) bool {
	for _, p := range g.cur.Load().pools {
		for _, t := range p.targets {
			if t.URL.Host == host {
				return true
			}
		}
	}
	return false
}

// bearer returns the token of an Authorization header of the Bearer
// scheme. The scheme is a case-insensitive token followed by one or more
// spaces (RFC 9110, section 11.1): "bearer TOKEN" is the same credential.
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimLeft(token, " "), true
}

// healthCollector exports each backend's active health as the gauge
// gateway_backend_up{pool,target}, read from the state in use at scrape
// time, so a reload needs no bookkeeping.
type healthCollector struct{ g *Gateway }

var backendUp = prometheus.NewDesc("gateway_backend_up",
	"1 if the backend passes its pool's active health checks (or the pool has none), else 0.",
	[]string{"pool", "target"}, nil)

func (c healthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- backendUp }

func (c healthCollector) Collect(ch chan<- prometheus.Metric) {
	if c.g.cur.Load() == nil {
		return
	}
	for _, ph := range c.g.Health() {
		for _, t := range ph.Targets {
			v := 0.0
			if t.Up {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(backendUp, prometheus.GaugeValue, v, ph.Pool, t.Target)
		}
	}
}

// upstreamCollector exports, for the pools in use at scrape time, the
// attempts that failed per backend (what passive health counts: no
// connection, no answer, the route's deadline) and the retries per pool.
// A retry that succeeds hides a failing backend from the client and
// from the requests' metrics; these show it. A pool that a reload
// rebuilds starts again from zero, which Prometheus reads as a counter
// reset; one it removes is no longer exported.
type upstreamCollector struct{ g *Gateway }

var (
	upstreamFailures = prometheus.NewDesc("gateway_upstream_failures_total",
		"Attempts to a backend that failed: no connection, no answer, or the route's deadline passed.",
		[]string{"pool", "target"}, nil)
	retries = prometheus.NewDesc("gateway_retries_total",
		"Attempts sent after a request's first one failed.",
		[]string{"pool"}, nil)
)

func (c upstreamCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- upstreamFailures
	ch <- retries
}

func (c upstreamCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.g.cur.Load()
	if s == nil {
		return
	}
	for name, p := range s.pools {
		for id, n := range p.failures {
			ch <- prometheus.MustNewConstMetric(upstreamFailures, prometheus.CounterValue, float64(n.Load()), name, id)
		}
		ch <- prometheus.MustNewConstMetric(retries, prometheus.CounterValue, float64(p.retries.Load()), name)
	}
}

// reloadStatus is the admin endpoint's answer to a rejected reload: 422
// for a configuration with mistakes in it (the caller's to fix), 500 when
// the file could not be read, 503 when the gateway is shutting down.
func reloadStatus(err error) int {
	switch {
	case errors.Is(err, ErrUnreadable):
		return http.StatusInternalServerError
	case errors.Is(err, ErrClosed):
		return http.StatusServiceUnavailable
	}
	return http.StatusUnprocessableEntity
}
