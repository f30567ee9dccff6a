package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// command runs one command on its arguments (those after its name).
type command func(t *tool, ctx context.Context, args []string) error

var commands = map[string]command{
	"put":      (*tool).put,
	"get":      (*tool).get,
	"stat":     (*tool).stat,
	"ls":       (*tool).ls,
	"rm":       (*tool).rm,
	"versions": (*tool).versions,
}

// parse parses a command's flags and checks that it got from min to max
// arguments after them.
func parse(fs *flag.FlagSet, args []string, min, max int) ([]string, error) {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil, &badUsage{help: true}
	} else if err != nil {
		return nil, usagef("%s: %v", fs.Name(), err)
	}
	// flag stops at the first argument, and takes what follows for
	// arguments: `get KEY -version` would write KEY to a file named
	// "-version". A key or a file that starts with - goes after --.
	if first := len(args) - fs.NArg(); first == 0 || args[first-1] != "--" {
		for _, a := range fs.Args() {
			if len(a) > 1 && a[0] == '-' {
				return nil, usagef("%s: %q after the arguments: flags go before them (use -- before an argument that starts with -)", fs.Name(), a)
			}
		}
	}
	if n := fs.NArg(); n < min || n > max {
		return nil, usagef("%s: want %s after the flags, got %d", fs.Name(), argCount(min, max), n)
	}
	return fs.Args(), nil
}

// argCount words how many arguments a command takes: "1 argument", not
// "1 to 1 arguments".
func argCount(min, max int) string {
	plural := func(n int) string {
		if n == 1 {
			return "1 argument"
		}
		return fmt.Sprintf("%d arguments", n)
	}
	switch {
	case min == max:
		return plural(max)
	case min == 0:
		return "at most " + plural(max)
	}
	return fmt.Sprintf("%d to %d arguments", min, max)
}

// put stores a file, or stdin, as the newest version of a key, with the
// content type -type gives. Without -type, a file's type is guessed from
// its name (contentType); stdin has none.
func (t *tool) put(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("put", flag.ContinueOnError)
	typ := fs.String("type", "", "")
	args, err := parse(fs, args, 1, 2)
	if err != nil {
		return err
	}
	key, src := args[0], "-"
	if len(args) == 2 {
		src = args[1]
	}
	opt := client.PutOptions{ContentType: *typ}
	if !flagSet(fs, "type") && src != "-" {
		opt.ContentType = contentType(src)
	}
	// Both before reading a large file.
	if err := meta.ValidateKey(key); err != nil {
		return &opError{what: fmt.Sprintf("put %q", key), err: err}
	}
	if err := meta.ValidateContentType(opt.ContentType); err != nil {
		return &opError{what: fmt.Sprintf("put %q", key), err: err}
	}
	var v meta.Version
	if src == "-" {
		v, err = t.c.PutDigest(ctx, key, t.stdin, "", opt)
	} else {
		v, err = t.putFile(ctx, key, src, opt)
	}
	if err != nil {
		return &opError{what: fmt.Sprintf("put %q", key), err: err}
	}
	printLine(t.stdout, v)
	return nil
}

// putFile stores the file name. A regular file can be read twice: once
// to hash it, once to send it, so it goes through PutStream and is not
// spooled to a temporary file as Put would spool it. If the file
// changes between the two reads, PutStream finds a size or a hash that
// does not match and stores nothing. Anything else (a pipe, a device)
// is read once, and spooled, by PutDigest (Put with a content type).
func (t *tool) putFile(ctx context.Context, key, name string, opt client.PutOptions) (meta.Version, error) {
	f, err := os.Open(name)
	if err != nil {
		return meta.Version{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return meta.Version{}, err
	}
	if !fi.Mode().IsRegular() {
		return t.c.PutDigest(ctx, key, f, "", opt)
	}
	hash, size, err := hashAll(ctx, f)
	if err != nil {
		return meta.Version{}, fmt.Errorf("hashing %s: %w", name, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return meta.Version{}, err
	}
	return t.c.PutStream(ctx, key, f, size, hash, opt)
}

// contentType guesses a file's media type from its name's extension,
// as `aws s3 cp` does: "image/png" for a.png, "" when the extension says
// nothing. mime.TypeByExtension knows a few dozen types itself and adds
// the system's tables (/etc/mime.types and the like), so one name may be
// given a type on one machine and none on another; -type says it for
// sure.
func contentType(name string) string {
	return mime.TypeByExtension(filepath.Ext(name))
}

// flagSet reports whether the command line set flag name, even to "".
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// hashAll reads r to its end and returns its SHA-256 and length. It
// stops when ctx is done: a large file can take a while, and a Ctrl-C
// must not wait for the last byte.
func hashAll(ctx context.Context, r io.Reader) (blob.Hash, int64, error) {
	sum := sha256.New()
	n, err := blob.Copy(sum, untilDone{ctx, r})
	if err != nil {
		return "", n, err
	}
	return blob.Hash(hex.EncodeToString(sum.Sum(nil))), n, nil
}

// untilDone reads r until ctx is done, then fails with ctx's error: a
// loop that reads a large file and has no other way to hear a Ctrl-C.
type untilDone struct {
	ctx context.Context
	r   io.Reader
}

func (u untilDone) Read(p []byte) (int, error) {
	if err := u.ctx.Err(); err != nil {
		return 0, err
	}
	return u.r.Read(p)
}

// get writes a version's content to a file or to stdout.
func (t *tool) get(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	number := fs.Uint64("version", 0, "")
	args, err := parse(fs, args, 1, 2)
	if err != nil {
		return err
	}
	key, dst := args[0], "-"
	if len(args) == 2 {
		dst = args[1]
	}
	fail := func(err error) error {
		return &opError{what: fmt.Sprintf("get %q", key), version: *number, err: err}
	}
	o, err := t.c.Get(ctx, key, *number)
	if err != nil {
		return fail(err)
	}
	defer o.Close()
	if dst == "-" {
		if _, err := io.Copy(t.stdout, o); err != nil {
			return fail(err)
		}
		return nil
	}
	if err := writeFile(dst, o); err != nil {
		return fail(err)
	}
	printLine(t.stdout, o.Version)
	return nil
}

// stat describes a version, one field a line.
func (t *tool) stat(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("stat", flag.ContinueOnError)
	number := fs.Uint64("version", 0, "")
	args, err := parse(fs, args, 1, 1)
	if err != nil {
		return err
	}
	v, err := t.c.Stat(ctx, args[0], *number)
	if err != nil {
		return &opError{what: fmt.Sprintf("stat %q", args[0]), version: *number, err: err}
	}
	printStat(t.stdout, v)
	return nil
}

// ls lists the latest version of every key with a prefix, one a line,
// in key order. It follows the metadata server's pages to the end,
// unless -limit is given: then it stops after that many keys and says
// on stderr where to go on from.
func (t *tool) ls(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("ls", flag.ContinueOnError)
	limit := fs.Int("limit", 0, "")
	after := fs.String("after", "", "")
	args, err := parse(fs, args, 0, 1)
	if err != nil {
		return err
	}
	if *limit < 0 {
		return usagef("ls: -limit %d: want a positive number, or 0 for every key", *limit)
	}
	prefix := ""
	if len(args) == 1 {
		prefix = args[0]
	}
	printed := 0
	for {
		page := 0 // the server's largest
		if *limit > 0 {
			page = min(*limit-printed, meta.MaxListLimit)
		}
		l, err := t.c.List(ctx, prefix, *after, page)
		if err != nil {
			return &opError{what: "ls", err: err}
		}
		for _, v := range l.Objects {
			printLine(t.stdout, v)
		}
		printed += len(l.Objects)
		switch {
		case l.Next == "":
			return nil
		case *limit > 0 && printed >= *limit:
			fmt.Fprintf(t.stderr, "cli: ls: more keys after %q (go on with -after)\n", l.Next)
			return nil
		case l.Next <= *after:
			// Keys come in order: a next page that does not go forward
			// would print this one again, for ever.
			return &opError{what: "ls", err: fmt.Errorf("the metadata server's next page goes back: after %q, then %q", *after, l.Next)}
		}
		*after = l.Next
	}
}

// rm adds a delete marker to a key.
func (t *tool) rm(ctx context.Context, args []string) error {
	args, err := parse(flag.NewFlagSet("rm", flag.ContinueOnError), args, 1, 1)
	if err != nil {
		return err
	}
	v, err := t.c.Delete(ctx, args[0])
	if err != nil {
		return &opError{what: fmt.Sprintf("rm %q", args[0]), deleting: true, err: err}
	}
	printLine(t.stdout, v)
	return nil
}

// versions lists every version of a key, oldest first.
func (t *tool) versions(ctx context.Context, args []string) error {
	args, err := parse(flag.NewFlagSet("versions", flag.ContinueOnError), args, 1, 1)
	if err != nil {
		return err
	}
	// A page at a time, printed as it comes: a key can have any number
	// of versions.
	var after uint64
	for {
		page, err := t.c.VersionPage(ctx, args[0], after, 0)
		if err != nil {
			return &opError{what: fmt.Sprintf("versions %q", args[0]), err: err}
		}
		for _, v := range page.Versions {
			printLine(t.stdout, v)
		}
		switch {
		case page.Next == 0:
			return nil // the last page
		case page.Next <= after:
			// Not the last page, and a next one that does not go forward:
			// stopping here would print a short list as if it were all.
			return &opError{what: fmt.Sprintf("versions %q", args[0]), err: fmt.Errorf("the metadata server's next page goes back: after %d, then %d", after, page.Next)}
		}
		after = page.Next
	}
}
