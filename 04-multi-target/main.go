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

	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/02-single-proxy/proxy"
	"github.com/gocourse/gateway/03-director/proxycmd"
	"github.com/gocourse/gateway/03-director/rewrite"
	"github.com/gocourse/gateway/04-multi-target/multitarget"
)

func main() { serve.Main("04-multi-target", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("04-multi-target", flag.ContinueOnError)
	flags := proxycmd.AddFlags(fs,
		"comma-separated backend `URLs` to spread requests over\n(default: start backends A, B and C in this process)")
	seed := fs.Uint64("seed", 0, "seed of the random picks, to make a run repeatable (0: a different sequence each run)")
	if err := serve.Parse(fs, args); err != nil {
		return err
	}
	targets, err := flags.Check()
	if err != nil {
		return err
	}

	var g serve.Group
	ln, targets, err := flags.Open(&g, targets, 3, stdout)
	if err != nil {
		return err
	}

	opts := multitarget.Options{Rewrite: rewrite.Options{
		XForwarded:     true,
		Header:         http.Header{"X-Gateway": {"04-multi-target"}},
		ResponseHeader: http.Header{"X-Proxy": {"04-multi-target"}},
		ErrorPages:     true,
		Transport:      flags.Transport(),
	}}
	picks := "picking at random"
	if *seed != 0 {
		opts.Rand = rand.New(rand.NewPCG(*seed, *seed))
		picks = fmt.Sprintf("picking at random (seed %d)", *seed)
	}
	p, err := multitarget.New(targets, opts)
	if err != nil {
		g.Close()
		ln.Close()
		return err
	}
	g.Handle(proxy.FramingHandler(p), ln) // no smuggled requests: chapter 02

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
