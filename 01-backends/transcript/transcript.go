// Package transcript keeps a chapter's "Run it" section honest. A chapter
// shows a terminal session: the go run command, what the program printed,
// then curl commands and their output. Check runs the program in-process,
// replays each curl command against it and fails the test if anything
// printed differs from the transcript, so the chapter cannot go stale.
//
// A transcript is a text file:
//
//	$ go run ./01-backends              the program and its flags
//	backend A listening on http://...   what it prints when it starts
//	$ curl -s http://127.0.0.1:9001/    a command, replayed by Check
//	Hello from backend A                what the command prints
//	^C                                  Ctrl-C: the program stops
//	stopped                             what it prints as it stops
//
// Tests use no fixed ports, so Check passes extra flags (such as
// -listen 127.0.0.1:0) after the transcript's own, and matches addresses by
// the order in which they first appear. A loopback address the program did
// not print (a client's ephemeral port) matches any port. An expected line
// that ends in "..." matches any line that starts with the text before it,
// for values no program controls, such as a Date header.
package transcript

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocourse/gateway/01-backends/serve"
)

// Timeout bounds each wait: for the program to start, for a command, and
// for the program to stop.
const Timeout = 15 * time.Second

// stopTimeout is Timeout, for the wait for the program to stop: a
// variable, so that a test of a program that never stops waits less.
var stopTimeout = Timeout

// Step is one command of a transcript and the lines it should print.
type Step struct {
	Command string   // without the "$ " prompt; "^C" for Ctrl-C
	Want    []string // expected output lines
}

// Parse reads a transcript file into its steps. The first step must run
// the program ("go run ./stage ...").
func Parse(text string) ([]Step, error) {
	var steps []Step
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "$ "):
			steps = append(steps, Step{Command: strings.TrimPrefix(line, "$ ")})
		case line == "^C":
			steps = append(steps, Step{Command: line})
		case len(steps) == 0:
			return nil, fmt.Errorf("transcript: line %q comes before the first $ command", line)
		default:
			steps[len(steps)-1].Want = append(steps[len(steps)-1].Want, line)
		}
	}
	if len(steps) == 0 || !strings.HasPrefix(steps[0].Command, "go run ") {
		return nil, fmt.Errorf("transcript: the first command must be go run")
	}
	return steps, nil
}

// Check runs the transcript in file against run, the stage's program.
func Check(t *testing.T, file string, run serve.RunFunc, extraArgs ...string) {
	t.Helper()
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	steps, err := Parse(string(text))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	words, err := Split(steps[0].Command)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	args := append(words[3:], extraArgs...) // after "go run ./stage"

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := newOutput()
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, out) }()
	// The program is stopped when Check ends, however it ends. The wait is
	// bounded: a program deaf to its context would otherwise hang the
	// test, which has failed already or is about to, until go test's
	// -timeout, and what it logged would never be printed.
	stopped := false
	defer func() {
		if stopped {
			return
		}
		cancel()
		select {
		case <-done:
		case <-time.After(stopTimeout):
			t.Errorf("%s: the program did not stop within %v of the end of the check", file, stopTimeout)
		}
	}()

	// The program has started when it has printed as many lines as the
	// transcript shows.
	banner := steps[0].Want
	got, err := out.waitLines(len(banner), done)
	if errors.Is(err, errReturnedEarly) {
		stopped = true // waitLines took run's result from done
	}
	if err != nil {
		t.Fatalf("%s: %s: %v; it printed:\n%s", file, steps[0].Command, err, strings.Join(got, "\n"))
	}
	addrs, err := pairAddresses(banner, got)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	addrs.compare(t, file, steps[0].Command, banner, addrs.toWant(got))

	for _, step := range steps[1:] {
		if step.Command == "^C" {
			cancel()
			select {
			case err := <-done:
				stopped = true
				if err != nil {
					t.Errorf("%s: after ^C the program returned %v, want a clean stop", file, err)
				}
			case <-time.After(stopTimeout):
				stopped = true // waited for already: the deferred wait would be another
				t.Fatalf("%s: the program did not stop within %v of ^C", file, stopTimeout)
			}
			all := out.lines()
			addrs.compare(t, file, "^C", step.Want, addrs.toWant(all[len(banner):]))
			continue
		}
		words, err := Split(addrs.toGot(step.Command))
		if err != nil || len(words) == 0 || words[0] != "curl" {
			t.Fatalf("%s: %q: only curl commands can be replayed (%v)", file, step.Command, err)
		}
		cmdCtx, cmdCancel := context.WithTimeout(ctx, Timeout)
		printed, err := Curl(cmdCtx, words[1:])
		cmdCancel()
		if err != nil {
			t.Errorf("%s: %s: %v", file, step.Command, err)
			continue
		}
		addrs.compare(t, file, step.Command, step.Want, addrs.toWant(lines(printed)))
	}
}

// compare reports the difference between want and got, line by line.
func (a addresses) compare(t *testing.T, file, command string, want, got []string) {
	t.Helper()
	if a.linesMatch(want, got) {
		return
	}
	var b strings.Builder
	for i := range max(len(want), len(got)) {
		w, g := "", ""
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		mark := " "
		if !a.lineMatches(w, g) || i >= len(want) || i >= len(got) {
			mark = "!"
		}
		fmt.Fprintf(&b, "%s want %q\n  got  %q\n", mark, w, g)
	}
	t.Errorf("%s: $ %s printed something other than the transcript shows:\n%s", file, command, b.String())
}

func (a addresses) linesMatch(want, got []string) bool {
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		if !a.lineMatches(want[i], got[i]) {
			return false
		}
	}
	return true
}

// anyPort finds loopback addresses.
var anyPort = regexp.MustCompile(`127\.0\.0\.1:\d+`)

// lineMatches compares a line of the transcript with one the program
// printed, after the program's addresses have been turned into the
// transcript's. Those must match exactly; any other loopback address (a
// client's ephemeral port, which nobody controls) matches any other.
func (a addresses) lineMatches(want, got string) bool {
	if prefix, ok := strings.CutSuffix(want, "..."); ok {
		return strings.HasPrefix(got, prefix)
	}
	return a.unknownPorts(want) == a.unknownPorts(got)
}

func (a addresses) unknownPorts(s string) string {
	return anyPort.ReplaceAllStringFunc(s, func(addr string) string {
		if slices.Contains(a.want, addr) {
			return addr
		}
		return "127.0.0.1:PORT"
	})
}

func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// output collects what the program prints and wakes waiters on each write.
type output struct {
	mu      sync.Mutex
	buf     strings.Builder
	changed chan struct{}
}

func newOutput() *output { return &output{changed: make(chan struct{}, 1)} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	o.buf.Write(p)
	o.mu.Unlock()
	select {
	case o.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (o *output) lines() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var ls []string
	sc := bufio.NewScanner(strings.NewReader(o.buf.String()))
	for sc.Scan() {
		ls = append(ls, sc.Text())
	}
	return ls
}

// errReturnedEarly is waitLines' error when the program returned before
// printing its banner: its result has been taken from done.
var errReturnedEarly = errors.New("the program returned early")

// waitLines waits until n complete lines have been printed, the program
// returns, or Timeout passes.
func (o *output) waitLines(n int, done <-chan error) ([]string, error) {
	deadline := time.After(Timeout)
	for {
		o.mu.Lock()
		complete := strings.Count(o.buf.String(), "\n")
		o.mu.Unlock()
		if complete >= n {
			return o.lines()[:n], nil
		}
		select {
		case <-o.changed:
		case err := <-done:
			return o.lines(), fmt.Errorf("%w (%v)", errReturnedEarly, err)
		case <-deadline:
			return o.lines(), fmt.Errorf("the program printed fewer than %d lines within %v", n, Timeout)
		}
	}
}
