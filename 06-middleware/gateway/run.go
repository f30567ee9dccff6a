package gateway

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/02-single-proxy/proxy"
	"github.com/gocourse/gateway/06-middleware/config"
	"github.com/gocourse/gateway/06-middleware/middleware"
)

// builtIn is the configuration served when no -config is given: the
// chapter's annotated example.
//
//go:embed gateway.yaml
var builtIn []byte

// logOutput is where Run writes its log: stderr, or a test's buffer.
var logOutput io.Writer = os.Stderr

// Run is the stage's program:
//
//	go run ./06-middleware                    the built-in configuration and demo backends
//	go run ./06-middleware -config FILE       a configuration file
//	go run ./06-middleware -check FILE        check a file, print its errors, exit (no other flag)
//
// It serves until ctx is done, then drains requests in flight, WebSockets
// included, for serve.ShutdownTimeout at most. SIGHUP reloads the
// configuration.
func Run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("06-middleware", flag.ContinueOnError)
	file := fs.String("config", "", "read the configuration from `FILE` (default: the built-in one)")
	check := fs.String("check", "", "check the configuration `FILE`, print what is wrong, and exit; it takes no other flag")
	listen := fs.String("listen", "", "listen on `address` (default: listen.addr of the configuration, 127.0.0.1:8080)")
	admin := fs.String("admin", "", "serve the admin endpoints on `address` (default: admin.addr of the configuration)")
	targets := fs.String("targets", "", "comma-separated backend `URLs` for ${BACKEND_A}, ${BACKEND_B}, ... (default: start demo backends)")
	if err := serve.Parse(fs, args); err != nil {
		return err
	}
	if *check != "" {
		// -check starts nothing: a flag about what to start, given
		// beside it, would be ignored without a word
		// (TestCheckTakesNoOtherFlag).
		for _, name := range []string{"config", "listen", "admin", "targets"} {
			if serve.IsSet(fs, name) {
				return serve.Usagef("-check takes no -%s: it checks FILE and starts nothing", name)
			}
		}
		return checkFile(*check, stdout)
	}

	name, data := "built-in gateway.yaml", builtIn
	if *file != "" {
		var err error
		if data, err = os.ReadFile(*file); err != nil {
			return serve.Usagef("-config: %v", err)
		}
		name = *file
	}

	// Catch SIGHUP before anything starts: a reload signal that arrives
	// during start-up must not kill the process (its default action).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	// The demo backends serve first, so that the gateway's first health
	// checks find them answering, and stop last, once the gateway has
	// drained its requests. What is listening is said once everything
	// is: a start that fails (a file that does not load, a taken admin
	// address) says why and nothing else
	// (TestAStartThatFailsSaysNothingIsListening).
	var demo serve.Group
	var listening strings.Builder
	urls, err := backendURLs(&demo, data, *targets, &listening)
	if err != nil {
		return err
	}
	demoCtx, stopDemo := context.WithCancel(context.WithoutCancel(ctx))
	demoDone := make(chan error, 1)
	go func() { demoDone <- demo.Run(demoCtx) }()
	defer func() { stopDemo(); <-demoDone }()

	var g serve.Group
	src := func() (string, []byte, error) {
		if *file != "" {
			var err error
			if data, err = os.ReadFile(*file); err != nil {
				return "", nil, err
			}
		}
		return name, substitute(data, urls), nil
	}
	// The access log writes a line per request: through the course's
	// TextHandler (the lines slog.TextHandler writes, for less CPU), and
	// a LogBuffer that writes each line at once until the configuration,
	// which New reads, says to let access lines wait (log.buffer_bytes).
	// Deferred before gw.Close, so run after it: it writes what waits
	// once the servers have drained and the checks have stopped, and
	// each line logged after it (a request cut off when the drain ran
	// out) at once.
	logBuf := middleware.NewLogBuffer(logOutput, 0)
	stopLog := func() {}
	defer func() { stopLog() }()
	logger := slog.New(middleware.NewTextHandler(logBuf, nil))
	// The health checks run until gw.Close, after the drain, and not
	// until ctx is done: requests in flight still go to backends (a
	// retry picks another one), and a backend that stops answering
	// during the drain must still be taken out
	// (TestHealthChecksRunWhileRequestsDrain).
	gw, err := New(context.WithoutCancel(ctx), src, Options{Logger: logger, TuneRuntime: true, ListenAddr: *listen, AdminAddr: *admin})
	if err != nil {
		g.Close()
		return withErrorCount(name, err)
	}
	defer gw.Close()
	cfg := gw.Config()
	stopLog = bufferLog(logBuf, cfg.Log)

	// The loader checked the file's two addresses; a flag may replace
	// either, and a clash would otherwise surface at the second bind as
	// "is another program using it?", about a port this program holds.
	listenAddr, adminAddr := cmp.Or(*listen, cfg.Listen.Addr), cmp.Or(*admin, cfg.Admin.Addr)
	if adminAddr != "" && (*listen != "" || *admin != "") {
		if why := config.Clash(adminAddr, listenAddr); why != "" {
			g.Close()
			return serve.Usagef("admin address %q and gateway address %q %s: the admin listener needs an address of its own (-admin or admin.addr)", adminAddr, listenAddr, why)
		}
	}
	ln, err := serve.Listen(listenAddr)
	if err != nil {
		g.Close()
		return err
	}
	srv := Server(cfg.Listen, gw, logger)
	var running handlers // for the upgraded connections Shutdown leaves alone
	running.track(srv)
	g.Add(srv, ln)
	fmt.Fprintf(&listening, "gateway listening on http://%s (%s)\n", ln.Addr(), name)
	adminURL := ""
	if addr := adminAddr; addr != "" {
		if err := serve.CheckAddress("-admin", addr); err != nil {
			g.Close()
			return err
		}
		aln, err := net.Listen("tcp", addr)
		if err != nil {
			g.Close()
			return fmt.Errorf("cannot listen on %s for the admin listener (is another program using it? pick another address with -admin or admin.addr): %w", addr, err)
		}
		g.Handle(gw.Admin(), aln)
		adminURL = "http://" + aln.Addr().String()
		fmt.Fprintf(&listening, "admin listening on %s\n", adminURL)
	}
	io.WriteString(stdout, listening.String())
	if *file == "" {
		tryLines(stdout, "http://"+ln.Addr().String(), adminURL)
	}
	fmt.Fprintln(stdout, "Stop with Ctrl-C.")

	// Reload on SIGHUP until the servers stop, also when they stop on
	// their own (a listener failing): no reload may start once Run is
	// over and gw is being closed.
	hupCtx, stopHup := context.WithCancel(ctx)
	hupDone := make(chan struct{})
	go func() {
		defer close(hupDone)
		for {
			select {
			case <-hupCtx.Done():
				return
			case <-hup:
				gw.Reload() // logs its outcome
			}
		}
	}()

	// The drain: g.Run shuts the servers down, within its bound, when ctx
	// is done. The handlers of upgraded connections (WebSockets) get the
	// same bound, from the same moment, and are then closed.
	ran := make(chan error, 1)
	go func() { ran <- g.Run(ctx) }()
	var bound <-chan time.Time
	select {
	case <-ctx.Done():
		bound = drainAfter(serve.ShutdownTimeout)
		err = <-ran
	case err = <-ran: // a server failed
		bound = drainAfter(serve.ShutdownTimeout)
	}
	if n := running.drain(bound); n > 0 && !errors.Is(err, serve.ErrCutOff) {
		err = errors.Join(err, fmt.Errorf("stopped after waiting %v: %d upgraded connection(s), such as WebSockets, still open were closed: %w", serve.ShutdownTimeout, n, serve.ErrCutOff))
	}
	stopHup()
	<-hupDone
	fmt.Fprintln(stdout, "stopped")
	return err
}

// bufferLog gives buf the size of the log section, and flushes it every
// flush_interval until stop, which flushes it a last time and makes it
// write each line at once from then on: a handler cut off when the drain
// ran out may still log its request while the program stops. With no
// size it does nothing: each line is written at once.
func bufferLog(buf *middleware.LogBuffer, l config.Log) (stop func()) {
	if l.BufferBytes == 0 {
		return func() {}
	}
	buf.SetSize(l.BufferBytes)
	ticker := time.NewTicker(l.FlushInterval)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { buf.FlushEvery(ctx, ticker.C); close(done) }()
	return func() {
		ticker.Stop()
		cancel()
		<-done
		buf.SetSize(0)
	}
}

// Server returns the gateway's hardened http.Server, with the limits of
// the listen section: send_timeout is the handler's (see sendTimeout),
// the others are the server's own. What net/http itself has to say (a
// handler's panic it caught, a superfluous WriteHeader) goes to log as
// warnings, in the gateway's format and, with a LogBuffer, after the
// access lines before it; nil means slog.Default().
func Server(l config.Listener, h http.Handler, log *slog.Logger) *http.Server {
	if log == nil {
		log = slog.Default()
	}
	if l.SendTimeout > 0 {
		h = sendTimeout(h, l.SendTimeout, l.WriteTimeout)
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// backendURLs returns the URLs that replace the placeholders data uses:
// those of -targets, or else demo backends it starts in g.
func backendURLs(g *serve.Group, data []byte, targets string, stdout io.Writer) ([]string, error) {
	need := backendsNeeded(data)
	if targets != "" {
		urls := strings.Split(targets, ",")
		for _, u := range urls {
			if _, err := proxy.ParseTarget(u); err != nil {
				return nil, serve.Usagef("-targets: %v", err)
			}
		}
		if len(urls) < need {
			return nil, serve.Usagef("-targets: the configuration uses %d backends (${BACKEND_A} to ${BACKEND_%c}), got %d URLs", need, 'A'+need-1, len(urls))
		}
		return urls, nil
	}
	if need == 0 {
		return nil, nil
	}
	urls, err := backend.Listen(g, slices.Repeat([]string{"127.0.0.1:0"}, need))
	if err != nil {
		return nil, err
	}
	for i, u := range urls {
		fmt.Fprintf(stdout, "backend %s listening on %s\n", backend.Name(i), u)
	}
	return urls, nil
}

// substitute replaces each ${BACKEND_X} of data with its URL. A
// placeholder with no URL is left as it is, for the check to report.
func substitute(data []byte, urls []string) []byte {
	return config.Placeholder.ReplaceAllFunc(data, func(m []byte) []byte {
		if i := int(m[len("${BACKEND_")] - 'A'); i < len(urls) {
			return []byte(urls[i])
		}
		return m
	})
}

// checkFile is -check: it prints "FILE: ok" and the warnings, or returns
// every error.
// Placeholders are replaced by example URLs, so the built-in
// configuration and copies of it check too.
func checkFile(file string, stdout io.Writer) error {
	data, err := os.ReadFile(file)
	if err != nil {
		// A file that cannot be read is a bad -check, as it is a bad
		// -config: exit status 2 and the hint to -h.
		return serve.Usagef("-check: %v", err)
	}
	cfg, err := config.Parse(file, substitute(data, exampleURLs()), DefaultRegistry())
	if err != nil {
		return withErrorCount(file, err)
	}
	fmt.Fprintf(stdout, "%s: ok\n", file)
	for _, w := range configWarnings(cfg) {
		fmt.Fprintf(stdout, "%s: warning: %s\n", file, w)
	}
	return nil
}

// withErrorCount puts "FILE has N error(s):" above a configuration's
// errors, one a line, so that the program's name, which goes before the
// first line of the error it stops on, is not read as part of the first
// mistake. -check and a start-up on a bad -config print the same list.
func withErrorCount(file string, err error) error {
	var errs config.Errors
	if errors.As(err, &errs) {
		return fmt.Errorf("%s has %d error(s):\n%w", file, len(errs), err)
	}
	return err
}

// tryLines prints what to try with the built-in configuration. Each
// curl line is only the command, so that it can be copied into any shell;
// what it shows is on the line above it.
func tryLines(w io.Writer, gw, admin string) {
	fmt.Fprintf(w, "Try:\n")
	fmt.Fprintf(w, "  round robin (A, B, C, A, ...):\n    curl -s %s/rr/\n", gw)
	fmt.Fprintf(w, "  smooth weighted (A A B A C A A):\n    curl -s %s/swrr/\n", gw)
	fmt.Fprintf(w, "  the same user, the same backend:\n    curl -s -H 'X-User: ann' %s/chash/\n", gw)
	fmt.Fprintf(w, "  the full middleware chain (see its headers):\n    curl -si %s/\n", gw)
	fmt.Fprintf(w, "  the cache, twice: a miss, then a hit (the same answer, with an Age):\n    curl -si %s/cached/cacheable/30\n", gw)
	if admin != "" {
		fmt.Fprintf(w, "  what the health checks see:\n    curl -s '%s/admin/health?pool=web'\n", admin)
		fmt.Fprintf(w, "  reload the configuration:\n    curl -s -X POST -H 'Authorization: Bearer demo-token' %s/admin/reload\n", admin)
	}
}
