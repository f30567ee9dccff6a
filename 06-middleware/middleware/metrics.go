package middleware

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// Metrics counts requests and measures their latency for Prometheus, by
// route, status class (2xx, 4xx, ..., or aborted) and upstream. Every label has few
// values: a route, not a path; a class, not a code.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	gatherer prometheus.Gatherer

	mu     sync.RWMutex
	series map[labels]series // the pair of metrics for each label set seen

	// beforeWrite, set only by tests, runs in seriesFor between a miss
	// of the read-locked look-up and the write lock: where another
	// request or a reload's Retain may come in.
	beforeWrite func()
}

type labels struct{ route, class, upstream string }

// values are l's label values, valid UTF-8 as Prometheus requires (it
// panics on one that is not): SetRoute and SetUpstream take any string,
// and a target's host with a %ff in it decodes to a byte that is not.
// The bad bytes become U+FFFD. Called once per label set, not per request.
func (l labels) values() (route, class, upstream string) {
	return strings.ToValidUTF8(l.route, "\uFFFD"), l.class, strings.ToValidUTF8(l.upstream, "\uFFFD")
}

type series struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// NewMetrics registers the gateway's metrics in reg. Pass a registry of
// your own (prometheus.NewRegistry()), not the global one, so that two
// gateways in one process, or two tests, do not share counters.
func NewMetrics(reg *prometheus.Registry) *Metrics {
	names := []string{"route", "class", "upstream"}
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_requests_total",
			Help: "Requests handled by the gateway.",
		}, names),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gateway_request_duration_seconds",
			Help:    "Time from a request's arrival to the end of its response.",
			Buckets: prometheus.DefBuckets,
		}, names),
		gatherer: reg,
		series:   map[labels]series{},
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// classAborted is the class of a response cut short: its header went out,
// then its handler panicked (see outcome).
const classAborted = "aborted"

// Wrap is the middleware. It counts a request whose handler panicked as a
// 5xx, the 500 Recover sends, or, if the response had started, in the
// class "aborted": the client got neither the status sent nor a 500.
func (m *Metrics) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, c := recordOf(r)
		rec := &c.rec
		sw := c.statusFor(w)
		returned := false
		defer func() {
			status, aborted := outcome(sw, returned)
			class := statusClass(status)
			if aborted {
				class = classAborted
			}
			s := m.seriesFor(labels{route(r, rec), class, rec.Upstream})
			s.requests.Inc()
			s.duration.Observe(c.finish().Sub(c.start).Seconds())
		}()
		next.ServeHTTP(sw, r)
		returned = true
	})
}

// seriesFor returns the metrics of one label set: one map look-up, where
// WithLabelValues would hash the labels once for each metric. A new
// series is made and stored under the write lock, so that Retain sees it
// whole or not at all: made before, it could be stored after Retain had
// deleted its metrics, and count where no scrape sees it
// (TestMetricsSeriesMadeAcrossARetainIsExported).
func (m *Metrics) seriesFor(l labels) series {
	m.mu.RLock()
	s, ok := m.series[l]
	m.mu.RUnlock()
	if ok {
		return s
	}
	if m.beforeWrite != nil {
		m.beforeWrite()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.series[l]; ok { // made meanwhile by another request
		return s
	}
	route, class, upstream := l.values()
	s = series{
		requests: m.requests.WithLabelValues(route, class, upstream),
		duration: m.duration.WithLabelValues(route, class, upstream),
	}
	m.series[l] = s
	return s
}

// Retain deletes the series of every upstream for which keep is false
// (the series of no upstream, "", stay): a gateway calls it with the
// backends of the configuration in use, so that one a reload removed has
// no series left, stuck at its last value, and a backend that changes
// address at each deploy does not add series for ever.
func (m *Metrics) Retain(keep func(upstream string) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for l := range m.series {
		if l.upstream != "" && !keep(l.upstream) {
			delete(m.series, l)
			route, class, upstream := l.values()
			m.requests.DeleteLabelValues(route, class, upstream)
			m.duration.DeleteLabelValues(route, class, upstream)
		}
	}
}

// Handler serves the metrics in Prometheus's text format, at /metrics.
// A person can ask for some of them only: /metrics?name=gateway_requests_total.
func (m *Metrics) Handler() http.Handler {
	all := promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		names := r.URL.Query()["name"]
		if len(names) == 0 {
			all.ServeHTTP(w, r)
			return
		}
		some := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
			mfs, err := m.gatherer.Gather()
			return slices.DeleteFunc(mfs, func(mf *dto.MetricFamily) bool { return !slices.Contains(names, mf.GetName()) }), err
		})
		promhttp.HandlerFor(some, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	})
}

var classes = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

func statusClass(code int) string {
	if i := code/100 - 1; 0 <= i && i < len(classes) {
		return classes[i]
	}
	return strconv.Itoa(code)
}
