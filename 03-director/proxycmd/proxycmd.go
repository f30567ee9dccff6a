// Package proxycmd is the command line that the proxy programs of stages
// 03, 04 and 05 share, so that each main says only what is new in its
// stage: the -listen, -targets and -timeout flags, their checks, and the
// demo backends a program starts when it is given no -targets.
package proxycmd

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/02-single-proxy/proxy"
	"github.com/gocourse/gateway/03-director/rewrite"
)

// Flags are the values of the shared flags, filled in by serve.Parse.
type Flags struct {
	Listen     string        // -listen: the address the proxy listens on
	TargetList string        // -targets: comma-separated backend URLs
	Timeout    time.Duration // -timeout: ResponseHeaderTimeout of the Transport

	fs *flag.FlagSet
}

// AddFlags defines -listen, -targets and -timeout on fs. targetsHelp is
// the usage text of -targets, which says what the stage does with them
// and what it starts without them.
func AddFlags(fs *flag.FlagSet, targetsHelp string) *Flags {
	f := &Flags{fs: fs}
	fs.StringVar(&f.Listen, "listen", "127.0.0.1:8080", "`address` to listen on")
	fs.StringVar(&f.TargetList, "targets", "", targetsHelp)
	fs.DurationVar(&f.Timeout, "timeout", time.Second,
		"how long to wait for a backend's response headers before answering 504")
	return f
}

// Check validates the flags after serve.Parse, and returns the -targets
// URLs: nil when the flag was not given, so the program starts demo
// backends instead. -targets given but empty is an error, not the demo.
// Every error is a *serve.UsageError (exit code 2); a bad URL's, and
// that of a URL that is the proxy's own -listen address, also wrap
// proxy.ErrBadTarget.
func (f *Flags) Check() ([]*url.URL, error) {
	if f.Timeout <= 0 {
		return nil, serve.Usagef("-timeout %v: want a positive duration such as 1s", f.Timeout)
	}
	if !serve.IsSet(f.fs, "targets") {
		return nil, nil
	}
	targets, err := rewrite.ParseTargets(f.TargetList)
	if err != nil {
		return nil, serve.Usagef("-targets: %w", err)
	}
	for _, t := range targets {
		// The proxy's own address: each request would loop back to it.
		if err := proxy.CheckNotItself(t, f.Listen); err != nil {
			return nil, serve.Usagef("-targets: %w", err)
		}
	}
	return targets, nil
}

// Transport returns the proxy's Transport: proxy.NewTransport, which
// gives up on a backend's headers after -timeout (the proxy answers 504).
func (f *Flags) Transport() *http.Transport {
	t := proxy.NewTransport()
	t.ResponseHeaderTimeout = f.Timeout
	return t
}

// Open opens the -listen address and returns its listener with the
// targets to proxy to: the -targets URLs, or, when none were given
// (targets is nil), n demo backends started in g. The listener is opened
// first, so a busy port is reported before any backend starts.
func (f *Flags) Open(g *serve.Group, targets []*url.URL, n int, stdout io.Writer) (net.Listener, []*url.URL, error) {
	ln, err := serve.Listen(f.Listen)
	if err != nil {
		return nil, nil, err
	}
	if targets == nil {
		if targets, err = StartDemo(g, n, stdout); err != nil {
			ln.Close()
			return nil, nil, err
		}
	}
	return ln, targets, nil
}

// StartDemo starts n demo backends, A, B, ..., on free loopback ports, to
// be served by g. It prints where each listens and returns their URLs,
// ready to be the proxy's targets.
func StartDemo(g *serve.Group, n int, stdout io.Writer) ([]*url.URL, error) {
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = "127.0.0.1:0"
	}
	urls, err := backend.Listen(g, addrs)
	if err != nil {
		return nil, err
	}
	targets := make([]*url.URL, n)
	for i, u := range urls {
		fmt.Fprintf(stdout, "backend %s listening on %s\n", backend.Name(i), u)
		if targets[i], err = proxy.ParseTarget(u); err != nil {
			return nil, err // cannot happen: backend.Listen made the URL
		}
	}
	return targets, nil
}
