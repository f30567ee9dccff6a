package serve

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// A RunFunc is a stage's program: it parses args, prints to stdout what it
// started, and serves until ctx is done. Tests call it directly with
// 127.0.0.1:0 addresses; main calls it through Main.
type RunFunc func(ctx context.Context, args []string, stdout io.Writer) error

// Main runs a stage's program as a process: it stops on Ctrl-C or SIGTERM,
// exits 0 after a clean stop or -h, 2 on a bad command line and 1 on any
// other error, which it prints prefixed by the program's name.
//
// Only the first signal asks for a graceful stop. Main then hands the
// signals back to the runtime, so a second Ctrl-C ends the process at
// once, as a user who does not want to wait for the drain expects.
func Main(name string, run RunFunc) {
	ctx, stop := StopOnSignal(context.Background())
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	os.Exit(ExitCode(os.Stderr, name, err))
}

// StopOnSignal returns a context that the first Ctrl-C or SIGTERM
// cancels, and a function that stops listening. It is
// signal.NotifyContext with one difference: the signals are handed back
// to the runtime before ctx is cancelled, not after, so whatever a
// program does once it hears (a drain, a cleanup, a long read that
// ignores ctx), a second Ctrl-C ends the process at once.
func StopOnSignal(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-signals:
			signal.Stop(signals) // first: a second signal is the runtime's
			cancel()
		case <-ctx.Done():
			signal.Stop(signals)
		}
	}()
	return ctx, func() { signal.Stop(signals); cancel() }
}

// ExitCode is Main's rule for the exit status of a program whose run
// returned err: 0 for nil or -h, 2 for a *UsageError and 1 for anything
// else. It prints the error to stderr, prefixed by name, unless the flag
// package already has. A program that cannot use Main (it does not serve
// until a signal) exits by the same rule with it.
func ExitCode(stderr io.Writer, name string, err error) int {
	var usage *UsageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &usage):
		if !usage.printed {
			fmt.Fprintf(stderr, "%s: %v\nRun '%s -h' for the flags.\n", name, usage.Err, name)
		}
		return 2
	default:
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
}

// UsageError is a bad command line: a flag that does not parse, or a value
// that does not make sense.
type UsageError struct {
	Err     error
	printed bool // the flag package has already printed it, with the usage
}

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef reports a bad flag value found after parsing.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// Parse parses args into fs (made with flag.ContinueOnError). It returns
// flag.ErrHelp for -h and a *UsageError for anything the flag package
// rejects; the flag package has then already printed the reason and usage.
func Parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case err == nil:
		if fs.NArg() > 0 {
			return Usagef("unexpected argument %q: every setting is a flag", fs.Arg(0))
		}
		return nil
	case errors.Is(err, flag.ErrHelp):
		return err
	default:
		return &UsageError{Err: err, printed: true}
	}
}

// IsSet reports whether the command line set the flag name, even to its
// default or to "". A program uses it to tell "not given" (start a demo,
// say) from "given empty" (a mistake worth an error).
func IsSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
