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

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/02-single-proxy/proxy"
	"github.com/gocourse/gateway/03-director/legacy"
	"github.com/gocourse/gateway/03-director/proxycmd"
	"github.com/gocourse/gateway/03-director/rewrite"
)

func main() { serve.Main("03-director", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("03-director", flag.ContinueOnError)
	flags := proxycmd.AddFlags(fs,
		"comma-separated backend `URLs`; this stage forwards to the first\n(default: start backend A in this process)")
	if err := serve.Parse(fs, args); err != nil {
		return err
	}
	targets, err := flags.Check()
	if err != nil {
		return err
	}

	var g serve.Group
	ln, targets, err := flags.Open(&g, targets, 1, stdout)
	if err != nil {
		return err
	}
	target := targets[0]
	// One pool of connections for every route.
	// FramingHandler: a request smuggled after a chunked body is never
	// served (chapter 02).
	g.Handle(proxy.FramingHandler(routes(target, flags.Transport())), ln)

	self := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "03-director listening on %s, forwarding to %s\n", self, target)
	fmt.Fprintf(stdout, "  /api/     Rewrite: prefix stripped, X-Forwarded-*, X-Real-IP and X-Gateway set,\n")
	fmt.Fprintf(stdout, "            X-Proxy added and Server hidden, 5xx pages, 504 after %v\n", flags.Timeout)
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
	// Slower than -timeout, for a 504, but within what the demo backend
	// allows (longer is a 400); none when even that is not slower.
	if delay := min(2*flags.Timeout, backend.MaxDelay); delay > flags.Timeout {
		fmt.Fprintf(stdout, "  curl -s %s/api/delay/%v\n", self, delay)
	}
	fmt.Fprintf(stdout, "Stop with Ctrl-C.\n")

	err = g.Run(ctx)
	fmt.Fprintln(stdout, "stopped")
	return err
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
