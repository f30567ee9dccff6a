// Command 05-balancers is stage 04's proxy with a balancer of your choice:
// random, round robin, smooth weighted round robin, least connections,
// power of two choices, consistent hashing, bounded loads or Maglev. A
// backend that stops answering is skipped after -max-fails failures.
//
//	go run ./05-balancers -balancer swrr -weights 5,1,1
//	go run ./05-balancers -balancer chash -key header:X-User -targets http://127.0.0.1:9001,http://127.0.0.1:9002
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/02-single-proxy/proxy"
	"github.com/gocourse/gateway/03-director/proxycmd"
	"github.com/gocourse/gateway/03-director/rewrite"
	"github.com/gocourse/gateway/05-balancers/balanced"
	"github.com/gocourse/gateway/05-balancers/balancer"
)

func main() { serve.Main("05-balancers", run) }

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("05-balancers", flag.ContinueOnError)
	flags := proxycmd.AddFlags(fs,
		"comma-separated backend `URLs`\n(default: start demo backends A, B, C, ... in this process, one per weight)")
	weightList := fs.String("weights", "", "comma-separated `weights`, one per target (default: 1 each)")
	name := fs.String("balancer", "swrr", "the `balancer`: "+strings.Join(balancer.Names(), ", "))
	keySpec := fs.String("key", "ip", "what hash balancers hash: ip, path, header:NAME, cookie:NAME or none")
	maxFails := fs.Int("max-fails", 1, "failures within -fail-timeout that take a backend out (0: never)")
	failTimeout := fs.Duration("fail-timeout", 10*time.Second, "how long failures count, and how long a failed backend is skipped")
	if err := serve.Parse(fs, args); err != nil {
		return err
	}

	targets, err := flags.Check()
	if err != nil {
		return err
	}
	weights, err := parseWeights(*weightList, len(targets))
	if err != nil {
		return err
	}
	key, err := balancer.ParseKey(*keySpec)
	if err != nil {
		return serve.Usagef("-key: %w", err)
	}
	// Both are checked even when -max-fails 0 turns tracking off: a bad
	// value is a mistake whether or not it is used.
	if *maxFails < 0 {
		return serve.Usagef("-max-fails %d: want 0 or more", *maxFails)
	}
	if *failTimeout <= 0 {
		return serve.Usagef("-fail-timeout %v: want a positive duration such as 10s", *failTimeout)
	}
	if *maxFails == 0 {
		*maxFails = -1 // balancer.Health: negative turns tracking off
	}
	bal, err := balancer.New(*name, balancer.Options{
		Health: balancer.Health{MaxFails: *maxFails, FailTimeout: *failTimeout},
	})
	if err != nil {
		return serve.Usagef("-balancer: %w", err)
	}

	var g serve.Group
	ln, targets, err := flags.Open(&g, targets, len(weights), stdout)
	if err != nil {
		return err
	}

	transport := flags.Transport()
	pool := make([]balanced.Target, len(targets))
	for i, t := range targets {
		pool[i] = balanced.Target{URL: t, Weight: weights[i]}
	}
	p, err := balanced.New(bal, pool, balanced.Options{
		Key: key,
		Rewrite: rewrite.Options{
			XForwarded:     true,
			Header:         http.Header{"X-Gateway": {"05-balancers"}},
			ResponseHeader: http.Header{"X-Proxy": {"05-balancers"}},
			ErrorPages:     true,
			Transport:      transport,
		},
	})
	if err != nil {
		g.Close()
		ln.Close()
		return serve.Usagef("-targets: %w", err)
	}
	g.Handle(proxy.FramingHandler(p), ln) // no smuggled requests: chapter 02

	self := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "05-balancers listening on %s, balancer %s over:\n", self, *name)
	for i, t := range targets {
		fmt.Fprintf(stdout, "  %s weight %d\n", t, weights[i])
	}
	fmt.Fprintf(stdout, "Try (again and again: see which backend answers):\n")
	fmt.Fprintf(stdout, "  curl -s %s/\n", self)
	if header, ok := strings.CutPrefix(*keySpec, "header:"); ok {
		fmt.Fprintf(stdout, "  curl -s -H '%s: ada' %s/\n", header, self)
	}
	fmt.Fprintf(stdout, "Stop with Ctrl-C.\n")

	err = g.Run(ctx)
	fmt.Fprintln(stdout, "stopped")
	return err
}

// parseWeights parses -weights: one weight per target, or, with no
// targets, one per demo backend to start (three when the flag is empty).
// It checks each weight against balancer.MaxWeight here, before any demo
// backend starts, so that the message names the flag that is wrong.
// A weight is plain decimal digits, as a whole number in the 06
// gateway's file is: strconv.Atoi alone would take +5 and 05, and 010 is
// 8 in C, in YAML 1.1 and to strconv.ParseInt(s, 0, 64).
func parseWeights(list string, targets int) ([]int, error) {
	if list == "" {
		n := targets
		if n == 0 {
			n = 3
		}
		w := make([]int, n)
		for i := range w {
			w[i] = 1
		}
		return w, nil
	}
	var weights []int
	for s := range strings.SplitSeq(list, ",") {
		digits := strings.TrimSpace(s)
		w, err := strconv.Atoi(digits)
		if err != nil || !plainDecimal(digits) || w < 1 || w > balancer.MaxWeight {
			return nil, serve.Usagef("-weights: %q is not a weight: want whole numbers from 1 to %d, in plain digits, such as 5,1,1", s, balancer.MaxWeight)
		}
		weights = append(weights, w)
	}
	if targets > 0 && len(weights) != targets {
		return nil, serve.Usagef("-weights: %d weights for %d targets: give one per target", len(weights), targets)
	}
	return weights, nil
}

// plainDecimal reports whether s is digits only, with no sign and no
// leading zero.
func plainDecimal(s string) bool {
	if s == "" || s[0] == '0' {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
