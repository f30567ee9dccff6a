// Command 04-multi-target is one reverse proxy in front of several
// backends: each request goes to a target picked at random.
//
//	go run ./04-multi-target                 # with its own backends A, B, C
//	go run ./04-multi-target -targets http://127.0.0.1:9001,http://127.0.0.1:9002
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/02-single-proxy/proxy"
	"github.com/gocourse/gateway/03-director/rewrite"
	"github.com/gocourse/gateway/04-multi-target/multitarget"
)

func main() { serve.Main("04-multi-target", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("04-multi-target", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8080", "`address` to listen on")
	targetList := fs.String("targets", "",
		"comma-separated backend `URLs` to spread requests over\n(default: start backends A, B and C in this process)")
	seed := fs.Uint64("seed", 0, "seed of the random picks, to make a run repeatable (0: a different sequence each run)")
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
		urls, err := backend.Listen(&g, []string{"127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"})
		if err != nil {
			ln.Close()
			return err
		}
		for i, u := range urls {
			fmt.Fprintf(stdout, "backend %s listening on %s\n", backend.Name(i), u)
			t, _ := proxy.ParseTarget(u)
			targets = append(targets, t)
		}
	}

	transport := proxy.NewTransport()
	transport.ResponseHeaderTimeout = *timeout
	opts := multitarget.Options{Rewrite: rewrite.Options{
		XForwarded:     true,
		Header:         http.Header{"X-Gateway": {"04-multi-target"}},
		ResponseHeader: http.Header{"X-Proxy": {"04-multi-target"}},
		ErrorPages:     true,
		Transport:      transport,
	}}
	picks := "picking at random"
	if *seed != 0 {
		opts.Rand = rand.New(rand.NewPCG(*seed, *seed))
		picks = fmt.Sprintf("picking at random (seed %d)", *seed)
	}
	p, err := multitarget.New(targets, opts)
	if err != nil {
		ln.Close()
		return err
	}
	g.Handle(p, ln)

	self := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "04-multi-target listening on %s, %s among:\n", self, picks)
	for _, t := range targets {
		fmt.Fprintf(stdout, "  %s\n", t)
	}
	fmt.Fprintf(stdout, "Try (again and again: each request goes to a target picked at random):\n")
	fmt.Fprintf(stdout, "  curl -s %s/\n", self)
	fmt.Fprintf(stdout, "  curl -si %s/health\n", self)
	fmt.Fprintf(stdout, "  curl -sN '%s/sse?n=2&every=500ms'\n", self)
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
