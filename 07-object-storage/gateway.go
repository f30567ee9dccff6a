package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"

	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/06-middleware/config"
	"github.com/gocourse/gateway/06-middleware/gateway"
	"github.com/gocourse/gateway/07-object-storage/front"
)

// frontDoor is the gateway as the program runs it. Its listeners open at
// start, with everything else, but the gateway itself is built only once
// the API servers serve (start), because building it runs a first round
// of health checks against them. Until then it answers 503.
type frontDoor struct {
	settings front.Settings
	cfg      *config.Config
	log      *slog.Logger
	url      string
	running  atomic.Pointer[gateway.Gateway]
	admin    atomic.Pointer[http.Handler]
}

// listenGateway opens the gateway's listeners in s.servers.gateway and checks its
// configuration; startGateway builds the gateway.
func (s *store) listenGateway(addr string, targets []string) error {
	f := &frontDoor{log: slog.Default(), settings: front.Settings{
		Targets: targets, APIKey: s.opt.apiKey, Rate: s.opt.rate, MaxBytes: s.opt.maxSize,
	}}
	ln, err := serve.Listen(addr)
	if err != nil {
		return err
	}
	// Not serve.Listen: its error names -listen. runOn has checked the
	// address's form.
	aln, err := net.Listen("tcp", s.opt.admin)
	if err != nil {
		ln.Close()
		return fmt.Errorf("cannot listen on %s for the gateway's admin listener (is another program using it? pick another address with -admin): %w", s.opt.admin, err)
	}
	f.settings.Listen, f.settings.Admin = ln.Addr().String(), aln.Addr().String()
	data, err := front.Config(f.settings)
	if err == nil {
		f.cfg, err = config.Parse("gateway.yaml", data, gateway.DefaultRegistry())
	}
	if err != nil {
		ln.Close()
		aln.Close()
		return err
	}
	s.servers.gateway.Add(gateway.Server(f.cfg.Listen, http.HandlerFunc(f.serve), f.log), ln)
	s.servers.gateway.Handle(http.HandlerFunc(f.serveAdmin), aln)
	f.url = "http://" + ln.Addr().String()
	s.front = f
	servers := "API servers"
	if len(targets) == 1 {
		servers = "API server"
	}
	fmt.Fprintf(s.stdout, "gateway on %s (chash by path over %d %s; send X-Api-Key)\n", f.url, len(targets), servers)
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
	g, err := gateway.New(ctx, front.Source(f.settings), gateway.Options{Logger: f.log})
	if err != nil {
		return err
	}
	admin := g.Admin()
	f.admin.Store(&admin)
	f.running.Store(g)
	return nil
}

func (f *frontDoor) serve(w http.ResponseWriter, r *http.Request) {
	if g := f.running.Load(); g != nil {
		g.ServeHTTP(w, r)
		return
	}
	http.Error(w, "service unavailable: the gateway is starting", http.StatusServiceUnavailable)
}

func (f *frontDoor) serveAdmin(w http.ResponseWriter, r *http.Request) {
	if h := f.admin.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	http.Error(w, "service unavailable: the gateway is starting", http.StatusServiceUnavailable)
}

// close stops the gateway's health checks.
func (f *frontDoor) close() {
	if g := f.running.Load(); g != nil {
		g.Close()
	}
}
