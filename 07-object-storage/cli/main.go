// Command cli reads and writes objects in chapter 07's store from a
// terminal. It is package client with a command line: it asks the
// metadata server where things are and moves the bytes to and from the
// data servers itself, as the API server does, so it needs to reach both.
//
//	go run ./07-object-storage/cli [-meta URL] [-memory BYTES] [-v] COMMAND ARGS
//
//	put [-type TYPE] KEY [FILE|-]      store FILE (stdin if - or none) as KEY's newest version
//	get [-version N] KEY [FILE|-]      write KEY's content to FILE (stdout if - or none)
//	stat [-version N] KEY              describe a version, without its content
//	ls [-limit N] [-after KEY] [PREFIX]  the latest version of every key starting with PREFIX
//	rm KEY                             add a delete marker; older versions stay readable
//	versions KEY                       every version of KEY, oldest first
//
// A command's flags go before its arguments; a key or a file that starts
// with - goes after --.
//
// put's -type is the content type to store, such as image/png; without
// it, a FILE's type is guessed from its extension, and stdin has none.
//
// -meta is the metadata server's URL: `go run ./07-object-storage` prints
// it ("metadata server on http://..."). The exit status is 0 on success,
// 1 when a command fails (one line on stderr says why), 2 for a bad
// command line (the usage goes to stderr).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

func main() {
	// The first Ctrl-C cancels the command; a second one ends the tool at once.
	ctx, stop := serve.StopOnSignal(context.Background())
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: go run ./07-object-storage/cli [-meta URL] [-memory BYTES] [-v] COMMAND ARGS

commands:
  put [-type TYPE] KEY [FILE|-]        store FILE (stdin if - or none) as KEY's newest version,
                                       of content type TYPE (default: guessed from FILE's extension)
  get [-version N] KEY [FILE|-]        write KEY's content to FILE (stdout if - or none)
  stat [-version N] KEY                describe a version, without its content
  ls [-limit N] [-after KEY] [PREFIX]  the latest version of every key starting with PREFIX
  rm KEY                               add a delete marker; older versions stay readable
  versions KEY                         every version of KEY, oldest first

flags:
`

// tool is one run of the program: a client and where its output goes.
type tool struct {
	c       *client.Client
	metaURL string
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
}

// run runs the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cli", flag.ContinueOnError)
	fs.SetOutput(stderr)
	metaURL := fs.String("meta", "http://127.0.0.1:9100", "the metadata server's `URL`")
	memory := fs.Int64("memory", 1<<20, "objects up to this many `BYTES` are held in memory; larger ones are streamed")
	verbose := fs.Bool("v", false, "log the client's warnings on stderr (a bad copy found and reported, a failed upload retried)")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2 // flag has printed the error and the usage
	}
	switch {
	// A path, a query or a fragment would be joined to every request's
	// path, and the metadata server's 404 for an unknown path reads as
	// "no such object".
	case meta.CheckAddr(strings.TrimSuffix(*metaURL, "/")) != nil:
		return usageError(fs, "-meta %q: want a base URL such as http://127.0.0.1:9100", *metaURL)
	case *memory < 1:
		return usageError(fs, "-memory %d: want a positive number of bytes", *memory)
	case fs.NArg() == 0:
		return usageError(fs, "no command")
	}
	cmd, ok := commands[fs.Arg(0)]
	if !ok {
		return usageError(fs, "unknown command %q", fs.Arg(0))
	}
	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = slog.New(slog.NewTextHandler(stderr, nil))
	}
	t := &tool{
		c: client.New(client.Options{
			MetaURL:     strings.TrimSuffix(*metaURL, "/"),
			MemoryLimit: *memory,
			Log:         log,
		}),
		metaURL: *metaURL,
		stdin:   stdin, stdout: stdout, stderr: stderr,
	}
	err := cmd(t, ctx, fs.Args()[1:])
	var bad *badUsage
	switch {
	case err == nil:
		return 0
	case errors.As(err, &bad) && bad.help:
		fs.Usage()
		return 0
	case errors.As(err, &bad):
		return usageError(fs, "%s", bad.msg)
	default:
		fmt.Fprintf(stderr, "cli: %s\n", t.explain(ctx, err))
		return 1
	}
}

func usageError(fs *flag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(fs.Output(), "cli: "+format+"\n", args...)
	fs.Usage()
	return 2
}

// badUsage is a command line a command cannot run (exit status 2), or
// a command's -h (the usage, exit status 0).
type badUsage struct {
	msg  string
	help bool
}

func (e *badUsage) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &badUsage{msg: fmt.Sprintf(format, args...)}
}
