// Command 01-backends starts the course's demo backends: small web services
// that say who they are. Run it, then point a later stage at it:
//
//	go run ./01-backends
//	go run ./02-single-proxy -target http://127.0.0.1:9001
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/01-backends/serve"
)

func main() { serve.Main("01-backends", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("01-backends", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:9001,127.0.0.1:9002",
		"comma-separated `addresses`, one backend each, named A, B, ...")
	if err := serve.Parse(fs, args); err != nil {
		return err
	}
	addrs := strings.Split(*listen, ",")

	var g serve.Group
	urls, err := backend.Listen(&g, addrs)
	if err != nil {
		return err
	}
	for i, u := range urls {
		fmt.Fprintf(stdout, "backend %s listening on %s\n", backend.Name(i), u)
	}
	a := urls[0]
	fmt.Fprintf(stdout, "Try:\n")
	fmt.Fprintf(stdout, "  curl -s %s/\n", a)
	fmt.Fprintf(stdout, "  curl -s '%s/echo?q=1'\n", a)
	fmt.Fprintf(stdout, "  curl -s %s/status/503\n", a)
	fmt.Fprintf(stdout, "  curl -sN '%s/stream?n=3&every=300ms'\n", a)
	fmt.Fprintf(stdout, "Stop with Ctrl-C.\n")

	err = g.Run(ctx)
	fmt.Fprintln(stdout, "stopped")
	return err
}
