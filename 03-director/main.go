// Command 03-director is a reverse proxy that rewrites what passes through
// it: each route below shows one set of rewrite.Options, and /legacy/ shows
// the deprecated Director version of the same proxy for comparison.
//
//	go run ./03-director                         # with its own backend A
//	go run ./03-director -targets http://127.0.0.1:9001
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/02-single-proxy/proxy"
	"github.com/gocourse/gateway/03-director/legacy"
	"github.com/gocourse/gateway/03-director/rewrite"
)

func main() { serve.Main("03-director", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("03-director", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8080", "`address` to listen on")
	targetList := fs.String("targets", "",
		"comma-separated backend `URLs`; this stage forwards to the first\n(default: start backend A in this process)")
	timeout := fs.Duration("timeout", time.Second,
		"how long to wait for a backend's response headers before answering 504")
	if err := serve.Parse(fs, args); err != nil {
		return err
	}
	if *timeout <= 0 {
		return serve.Usagef("-timeout %v: want a positive duration such as 1s", *timeout)
	}
	var targets []*url.URL
	if flagSet(fs, "targets") {
		var err error
		if targets, err = rewrite.ParseTargets(*targetList); err != nil {
			return serve.Usagef("-targets: %w", err)
		}
	}

	var g serve.Group
	ln, err := serve.Listen(*listen)
	if err != nil {
		return err
	}
	if targets == nil {
		urls, err := backend.Listen(&g, []string{"127.0.0.1:0"})
		if err != nil {
			ln.Close()
			return err
		}
		fmt.Fprintf(stdout, "backend A listening on %s\n", urls[0])
		targets, _ = rewrite.ParseTargets(urls[0])
	}
	target := targets[0]

	transport := proxy.NewTransport() // one pool of connections for every route
	transport.ResponseHeaderTimeout = *timeout
	g.Handle(routes(target, transport), ln)

	self := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "03-director listening on %s, forwarding to %s\n", self, target)
	fmt.Fprintf(stdout, "  /api/     Rewrite: prefix stripped, X-Forwarded-*, X-Real-IP and X-Gateway set,\n")
	fmt.Fprintf(stdout, "            X-Proxy added and Server hidden, 5xx pages, 504 after %v\n", *timeout)
	fmt.Fprintf(stdout, "  /host/    Rewrite, keeping the client's Host header\n")
	fmt.Fprintf(stdout, "  /upper/   Rewrite, the response body upper-cased as it streams\n")
	fmt.Fprintf(stdout, "  /legacy/  the deprecated Director version of /api/, for comparison\n")
	fmt.Fprintf(stdout, "Try:\n")
	attack := "-H 'X-Forwarded-For: 6.6.6.6' -H 'Connection: X-Gateway'"
	fmt.Fprintf(stdout, "  curl -s %s '%s/api/echo?q=1'\n", attack, self)
	fmt.Fprintf(stdout, "  curl -s %s '%s/legacy/echo?q=1'\n", attack, self)
	fmt.Fprintf(stdout, "  curl -s %s/host/echo\n", self)
	fmt.Fprintf(stdout, "  curl -si %s/api/\n", self)
	fmt.Fprintf(stdout, "  curl -sN '%s/upper/stream?n=3&every=500ms'\n", self)
	fmt.Fprintf(stdout, "  curl -s %s/api/status/503\n", self)
	fmt.Fprintf(stdout, "  curl -s %s/api/delay/%v\n", self, 2**timeout)
	fmt.Fprintf(stdout, "Stop with Ctrl-C.\n")

	err = g.Run(ctx)
	fmt.Fprintln(stdout, "stopped")
	return err
}

// flagSet reports whether the command line set the flag name, even to "".
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// routes mounts one proxy per set of options, all to target.
func routes(target *url.URL, transport http.RoundTripper) http.Handler {
	gateway := http.Header{"X-Gateway": {"03-director"}}
	mux := http.NewServeMux()
	mux.Handle("/api/", rewrite.New(target, rewrite.Options{
		StripPrefix:         "/api",
		XForwarded:          true,
		Header:              gateway,
		ResponseHeader:      http.Header{"X-Proxy": {"03-director"}},
		HideResponseHeaders: []string{"Server"},
		ErrorPages:          true,
		Transport:           transport,
	}))
	mux.Handle("/host/", rewrite.New(target, rewrite.Options{
		StripPrefix:  "/host",
		PreserveHost: true,
		Transport:    transport,
	}))
	mux.Handle("/upper/", rewrite.New(target, rewrite.Options{
		StripPrefix: "/upper",
		Transform:   rewrite.Upper,
		Transport:   transport,
	}))
	old := legacy.New(target, gateway)
	old.Transport = transport
	old.ErrorHandler = rewrite.ErrorHandler
	mux.Handle("/legacy/", http.StripPrefix("/legacy", old))
	return mux
}
