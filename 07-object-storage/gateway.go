package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sync/atomic"

	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/06-middleware/config"
	"github.com/gocourse/gateway/06-middleware/gateway"
)

// gatewayTemplate is the gateway's configuration, with a ${NAME} wherever
// a flag decides.
//
//go:embed gateway.yaml
var gatewayTemplate []byte

// gatewaySettings are the values of the template's placeholders.
type gatewaySettings struct {
	Listen, Admin string   // host:port
	Targets       []string // the API servers' base URLs
	APIKey        string   // what clients send in X-Api-Key
	Rate          float64  // requests per second per client IP
	MaxBytes      int64    // largest request body
}

var placeholder = regexp.MustCompile(`\$\{([A-Z_]+)\}`)

// gatewayConfig fills in the template. Every value is written as JSON,
// which YAML reads as it is, so that no URL or key can change the file's
// structure.
func gatewayConfig(s gatewaySettings) ([]byte, error) {
	values := map[string]any{
		"LISTEN": s.Listen, "ADMIN": s.Admin, "TARGETS": s.Targets,
		"CLIENT": "client", "API_KEY": s.APIKey,
		"RATE": s.Rate, "BURST": max(1, int(2*s.Rate)), "MAX_BYTES": s.MaxBytes,
	}
	var err error
	out := placeholder.ReplaceAllFunc(gatewayTemplate, func(m []byte) []byte {
		name := string(m[2 : len(m)-1])
		v, ok := values[name]
		if !ok {
			err = fmt.Errorf("gateway.yaml: no value for ${%s}", name)
			return m
		}
		b, jerr := json.Marshal(v)
		if jerr != nil {
			err = jerr
		}
		return b
	})
	return out, err
}

// front is the gateway as the program runs it. Its listeners open at
// start, with everything else, but the gateway itself is built only once
// the API servers serve (start), because building it runs a first round
// of health checks against them. Until then it answers 503.
type front struct {
	settings gatewaySettings
	cfg      *config.Config
	log      *slog.Logger
	url      string
	running  atomic.Pointer[gateway.Gateway]
	admin    atomic.Pointer[http.Handler]
}

// listenGateway opens the gateway's listeners in s.group and checks its
// configuration; startGateway builds the gateway.
func (s *store) listenGateway(addr string, targets []string) error {
	f := &front{log: slog.Default(), settings: gatewaySettings{
		Targets: targets, APIKey: s.opt.apiKey, Rate: s.opt.rate, MaxBytes: s.opt.maxSize,
	}}
	ln, err := serve.Listen(addr)
	if err != nil {
		return err
	}
	aln, err := serve.Listen(s.opt.admin)
	if err != nil {
		ln.Close()
		return err
	}
	f.settings.Listen, f.settings.Admin = ln.Addr().String(), aln.Addr().String()
	data, err := gatewayConfig(f.settings)
	if err == nil {
		f.cfg, err = config.Parse("gateway.yaml", data, gateway.DefaultRegistry())
	}
	if err != nil {
		ln.Close()
		aln.Close()
		return err
	}
	s.group.Add(gateway.Server(f.cfg.Listen, http.HandlerFunc(f.serve)), ln)
	s.group.Handle(http.HandlerFunc(f.serveAdmin), aln)
	f.url = "http://" + ln.Addr().String()
	s.front = f
	fmt.Fprintf(s.stdout, "gateway on %s (chash by path over %d API servers; send X-Api-Key)\n", f.url, len(targets))
	fmt.Fprintf(s.stdout, "gateway admin on http://%s (/admin/health, /metrics)\n", aln.Addr())
	return nil
}

// startGateway builds the gateway, if this process runs one. Its health
// checks run until ctx is done.
func (s *store) startGateway(ctx context.Context) error {
	f := s.front
	if f == nil {
		return nil
	}
	src := func() (string, []byte, error) {
		data, err := gatewayConfig(f.settings)
		return "gateway.yaml", data, err
	}
	g, err := gateway.New(ctx, src, gateway.Options{Logger: f.log})
	if err != nil {
		return err
	}
	admin := g.Admin()
	f.admin.Store(&admin)
	f.running.Store(g)
	return nil
}

func (f *front) serve(w http.ResponseWriter, r *http.Request) {
	if g := f.running.Load(); g != nil {
		g.ServeHTTP(w, r)
		return
	}
	http.Error(w, "service unavailable: the gateway is starting", http.StatusServiceUnavailable)
}

func (f *front) serveAdmin(w http.ResponseWriter, r *http.Request) {
	if h := f.admin.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	http.Error(w, "service unavailable: the gateway is starting", http.StatusServiceUnavailable)
}

// close stops the gateway's health checks.
func (f *front) close() {
	if g := f.running.Load(); g != nil {
		g.Close()
	}
}
