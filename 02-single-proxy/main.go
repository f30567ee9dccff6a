// Command 02-single-proxy is a reverse proxy in front of one backend:
// every request it receives, it sends on to the backend and copies the
// answer back. With no -target it starts demo backend A in its own process;
// to proxy to the backends of chapter 01, run them first:
//
//	go run ./01-backends
//	go run ./02-single-proxy -target http://127.0.0.1:9001
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/02-single-proxy/proxy"
)

func main() { serve.Main("02-single-proxy", run) }

// options are the program's flags.
type options struct {
	listen string
	target string
}

// newFlagSet returns the program's flags, ready to parse into opts.
func newFlagSet(opts *options) *flag.FlagSet {
	fs := flag.NewFlagSet("02-single-proxy", flag.ContinueOnError)
	fs.StringVar(&opts.listen, "listen", "127.0.0.1:8080", "`address` the proxy listens on")
	fs.StringVar(&opts.target, "target", "",
		"base `URL` of the backend, such as http://127.0.0.1:9001 (started by go run ./01-backends);\n"+
			"if not set, demo backend A is started in this process on a free port")
	return fs
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var opts options
	fs := newFlagSet(&opts)
	if err := serve.Parse(fs, args); err != nil {
		return err
	}
	var target *url.URL            // nil: start demo backend A and forward to it
	if serve.IsSet(fs, "target") { // -target "" is an error, not the demo
		var err error
		if target, err = proxy.ParseTarget(opts.target); err != nil {
			return serve.Usagef("-target: %w", err)
		}
		// The proxy's own address: each request would loop back to it.
		if err := proxy.CheckNotItself(target, opts.listen); err != nil {
			return serve.Usagef("-target: %w", err)
		}
	}
	// The proxy's port first: if it is taken, no demo backend is started
	// (and announced) for nothing.
	ln, err := serve.Listen(opts.listen)
	if err != nil {
		return err
	}
	var g serve.Group
	if target == nil {
		urls, err := backend.Listen(&g, []string{"127.0.0.1:0"})
		if err != nil {
			ln.Close()
			return err
		}
		fmt.Fprintf(stdout, "backend A listening on %s\n", urls[0])
		target = &url.URL{Scheme: "http", Host: strings.TrimPrefix(urls[0], "http://")}
	}
	// FramingHandler: a request smuggled after a chunked body is never
	// served (the chapter's pitfalls).
	g.Handle(proxy.FramingHandler(proxy.New(target, nil)), ln)

	front := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "proxy listening on %s, forwarding to %s\n", front, target)
	fmt.Fprintf(stdout, "Try:\n")
	fmt.Fprintf(stdout, "  curl -s %s/\n", front)
	fmt.Fprintf(stdout, "  curl -s '%s/echo?q=1'\n", front)
	fmt.Fprintf(stdout, "  curl -sN '%s/stream?n=3&every=500ms'\n", front)
	fmt.Fprintf(stdout, "Stop with Ctrl-C.\n")

	err = g.Run(ctx)
	fmt.Fprintln(stdout, "stopped")
	return err
}
