package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

// newStore starts a store shaped like the one `go run ./07-object-storage`
// starts: three data servers, two copies of each blob. Its clock stands
// at 2026-01-01T00:00:00Z until a test moves it.
func newStore(t *testing.T) *storetest.Cluster {
	return storetest.New(t, 3, meta.Options{})
}

// result is what one run of the program did.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs the program in-process against cl, with stdin as its input.
func cli(cl *storetest.Cluster, stdin io.Reader, args ...string) result {
	return cliContext(context.Background(), cl.MetaURL, stdin, args...)
}

func cliContext(ctx context.Context, metaURL string, stdin io.Reader, args ...string) result {
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var out, errs bytes.Buffer
	code := run(ctx, append([]string{"-meta", metaURL}, args...), stdin, &out, &errs)
	return result{code, out.String(), errs.String()}
}

// ok runs the program and requires it to succeed; it returns stdout.
func ok(t *testing.T, cl *storetest.Cluster, stdin string, args ...string) string {
	t.Helper()
	r := cli(cl, strings.NewReader(stdin), args...)
	require.Equal(t, 0, r.code, "%v: exit status %d, stderr %q", args, r.code, r.stderr)
	assert.Empty(t, r.stderr, "%v wrote to stderr", args)
	return r.stdout
}

func short(content string) string { return blob.Sum([]byte(content)).Short() }

// Every command's output, exactly: one line per version (VERSION, SIZE,
// CREATED, SHA256's first 12 digits, KEY), stat one field a line.
func TestCommands(t *testing.T) {
	t.Parallel()
	cl := newStore(t)
	v1, v2 := "hello, object store\n", "hello again\n"

	assert.Equal(t, fmt.Sprintf("   1          20  2026-01-01T00:00:00Z  %s  greeting.txt\n", short(v1)),
		ok(t, cl, v1, "put", "greeting.txt"))
	cl.Clock.Add(90 * time.Second)
	cl.Beat() // or the data servers are long silent
	assert.Equal(t, fmt.Sprintf("   2          12  2026-01-01T00:01:30Z  %s  greeting.txt\n", short(v2)),
		ok(t, cl, v2, "put", "greeting.txt", "-"))
	ok(t, cl, "a key with spaces", "put", "notes/a key with spaces")

	assert.Equal(t, v2, ok(t, cl, "", "get", "greeting.txt"))
	assert.Equal(t, v1, ok(t, cl, "", "get", "-version", "1", "greeting.txt", "-"))

	v, err := cl.Namespace().Get("greeting.txt", 2)
	require.NoError(t, err)
	var replicas []string
	for _, id := range v.Replicas {
		addr, _ := cl.Namespace().ServerAddr(id)
		replicas = append(replicas, addr)
	}
	require.Len(t, replicas, 2)
	want := fmt.Sprintf("key:      greeting.txt\nversion:  2\nsize:     12\ntype:     -\nsha256:   %s\ncreated:  2026-01-01T00:01:30Z\nreplicas: %s\n",
		blob.Sum([]byte(v2)), strings.Join(replicas, " "))
	got := ok(t, cl, "", "stat", "greeting.txt")
	// The replicas come live ones first, in no order the test controls.
	if diff := cmp.Diff(sortedReplicas(want), sortedReplicas(got)); diff != "" {
		t.Errorf("stat (-want +got):\n%s", diff)
	}
	assert.Contains(t, ok(t, cl, "", "stat", "-version", "1", "greeting.txt"), "version:  1\nsize:     20\n")

	assert.Equal(t, fmt.Sprintf(
		"   2          12  2026-01-01T00:01:30Z  %s  greeting.txt\n"+
			"   1          17  2026-01-01T00:01:30Z  %s  notes/a key with spaces\n", short(v2), short("a key with spaces")),
		ok(t, cl, "", "ls"))
	assert.Equal(t, fmt.Sprintf("   1          17  2026-01-01T00:01:30Z  %s  notes/a key with spaces\n", short("a key with spaces")),
		ok(t, cl, "", "ls", "notes/"))
	assert.Empty(t, ok(t, cl, "", "ls", "nothing/"))

	cl.Clock.Add(time.Hour)
	cl.Beat()
	assert.Equal(t, "   3           -  2026-01-01T01:01:30Z  deleted       greeting.txt\n", ok(t, cl, "", "rm", "greeting.txt"))
	assert.Equal(t, fmt.Sprintf(
		"   1          20  2026-01-01T00:00:00Z  %s  greeting.txt\n"+
			"   2          12  2026-01-01T00:01:30Z  %s  greeting.txt\n"+
			"   3           -  2026-01-01T01:01:30Z  deleted       greeting.txt\n", short(v1), short(v2)),
		ok(t, cl, "", "versions", "greeting.txt"))
	assert.NotContains(t, ok(t, cl, "", "ls"), "greeting.txt", "a deleted key is not listed")
	assert.Equal(t, v1, ok(t, cl, "", "get", "-version", "1", "greeting.txt"), "older versions stay readable")
}

// sortedReplicas sorts the addresses on stat's replicas line.
func sortedReplicas(stat string) string {
	lines := strings.Split(stat, "\n")
	for i, l := range lines {
		if rest, ok := strings.CutPrefix(l, "replicas: "); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[0] > f[1] {
				f[0], f[1] = f[1], f[0]
			}
			lines[i] = "replicas: " + strings.Join(f, " ")
		}
	}
	return strings.Join(lines, "\n")
}

// A command line the program cannot run prints the usage and exits 2,
// having done nothing; -h prints it and exits 0.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	cl := newStore(t)
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{nil, "cli: no command"},
		{[]string{"copy", "a", "b"}, `cli: unknown command "copy"`},
		{[]string{"put"}, "cli: put: want 1 to 2 arguments after the flags, got 0"},
		{[]string{"put", "k", "file", "extra"}, "cli: put: want 1 to 2 arguments after the flags, got 3"},
		{[]string{"get", "k", "file", "extra"}, "cli: get: want 1 to 2 arguments after the flags, got 3"},
		{[]string{"stat"}, "cli: stat: want 1 argument after the flags, got 0"},
		{[]string{"rm", "a", "b"}, "cli: rm: want 1 argument after the flags, got 2"},
		{[]string{"versions"}, "cli: versions: want 1 argument after the flags, got 0"},
		{[]string{"ls", "a", "b"}, "cli: ls: want at most 1 argument after the flags, got 2"},
		{[]string{"get", "-version", "x", "k"}, `cli: get: invalid value "x" for flag -version: parse error`},
		{[]string{"ls", "-limit", "-1"}, "cli: ls: -limit -1: want a positive number, or 0 for every key"},
		{[]string{"rm", "-f", "k"}, "cli: rm: flag provided but not defined: -f"},
		{[]string{"-nope", "ls"}, "flag provided but not defined: -nope"},
		{[]string{"-memory", "0", "ls"}, "cli: -memory 0: want a positive number of bytes"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := cli(cl, nil, tc.args...)
			assert.Equal(t, 2, r.code)
			assert.Empty(t, r.stdout)
			assert.True(t, strings.HasPrefix(r.stderr, tc.msg+"\nusage: go run ./07-object-storage/cli"), "stderr:\n%s", r.stderr)
		})
	}
	var out, errs bytes.Buffer
	assert.Equal(t, 2, run(context.Background(), []string{"-meta", "127.0.0.1:9100", "ls"}, nil, &out, &errs))
	assert.True(t, strings.HasPrefix(errs.String(), `cli: -meta "127.0.0.1:9100": want a base URL such as http://127.0.0.1:9100`), errs.String())
	// With a path (or a query) every request would get the metadata
	// server's 404 for an unknown path, which reads as "no such object".
	for _, bad := range []string{"http://127.0.0.1:9100/status", "http://127.0.0.1:9100?x=1", "http://127.0.0.1:9100#top"} {
		out.Reset()
		errs.Reset()
		assert.Equal(t, 2, run(context.Background(), []string{"-meta", bad, "ls"}, nil, &out, &errs), bad)
		assert.True(t, strings.HasPrefix(errs.String(), `cli: -meta "`+bad+`": want a base URL such as http://127.0.0.1:9100`), errs.String())
	}

	r := cli(cl, nil, "get", "-h")
	assert.Equal(t, 0, r.code)
	assert.True(t, strings.HasPrefix(r.stderr, "usage: go run ./07-object-storage/cli"), r.stderr)
	r = cli(cl, nil, "-h")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.stderr, "usage: go run ./07-object-storage/cli")
	assert.Contains(t, r.stderr, "  -meta URL\n    \tthe metadata server's URL (default \"http://127.0.0.1:9100\")")
}

// ls follows the metadata server's pages to the end; -limit stops after
// that many keys and says where to go on from, and -after goes on.
func TestLsFollowsPages(t *testing.T) {
	t.Parallel()
	cl := newStore(t)
	ok(t, cl, "same content", "put", "k0000")
	v, err := cl.Namespace().Get("k0000", 0)
	require.NoError(t, err)
	// More keys than a page, committed straight to the database: they share
	// k0000's blob, so no upload is needed.
	n := meta.MaxListLimit + 5
	errs := make(chan error, n)
	sem := make(chan struct{}, 32)
	for i := 1; i < n; i++ {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			_, err := cl.Namespace().Commit(meta.CommitRequest{Key: fmt.Sprintf("k%04d", i), Hash: v.Hash, Size: v.Size, Replicas: v.Replicas}, cl.Clock.Now())
			errs <- err
		}()
	}
	for i := 1; i < n; i++ {
		require.NoError(t, <-errs)
	}

	lines := strings.Split(strings.TrimSuffix(ok(t, cl, "", "ls"), "\n"), "\n")
	require.Len(t, lines, n)
	for i, l := range lines {
		assert.True(t, strings.HasSuffix(l, fmt.Sprintf("  k%04d", i)), "line %d: %q", i, l)
	}

	r := cli(cl, nil, "ls", "-limit", "3")
	assert.Equal(t, 0, r.code)
	assert.Equal(t, lines[:3], strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n"))
	assert.Equal(t, "cli: ls: more keys after \"k0002\" (go on with -after)\n", r.stderr)
	r = cli(cl, nil, "ls", "-after", "k0002", "-limit", "2", "k")
	assert.Equal(t, lines[3:5], strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n"))
	r = cli(cl, nil, "ls", "-after", fmt.Sprintf("k%04d", n-3), "-limit", "2")
	assert.Equal(t, lines[n-2:], strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n"))
	assert.Empty(t, r.stderr, "no more keys: nothing to say")
	r = cli(cl, nil, "ls", "-limit", fmt.Sprint(n+1))
	assert.Equal(t, strings.Join(lines, "\n")+"\n", r.stdout, "a limit above a page follows pages too")
}

// seeded returns n bytes of seeded random content.
func seeded(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed))
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	return data
}

// Flags go before the arguments, as the flag package parses them. One
// after them is refused, exit status 2, rather than taken for an
// argument: `get k -version` would write k to a file named "-version".
// After --, an argument that starts with - is an argument (a key or a
// file of that name).
func TestFlagsAfterArgumentsAreUsageErrors(t *testing.T) {
	cl := newStore(t)
	ok(t, cl, "content", "put", "k")
	t.Chdir(t.TempDir())
	for _, args := range [][]string{
		{"get", "k", "-version"},
		{"get", "k", "-version", "1"},
		{"get", "k", "out", "-version=1"},
		{"put", "k2", "-type", "text/plain"},
		{"put", "k2", "-", "--type=text/plain"},
		{"stat", "k", "-version", "1"},
		{"ls", "k", "-limit", "1"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := cli(cl, strings.NewReader("new content"), args...)
			var flag string // the first argument after KEY that looks like one
			for _, a := range slices.Backward(args[2:]) {
				if len(a) > 1 && a[0] == '-' {
					flag = a
				}
			}
			assert.Equal(t, 2, r.code)
			assert.Empty(t, r.stdout)
			assert.True(t, strings.HasPrefix(r.stderr, fmt.Sprintf("cli: %s: %q after the arguments: flags go before them (use -- before an argument that starts with -)\nusage:", args[0], flag)), r.stderr)
		})
	}
	entries, err := os.ReadDir(".")
	require.NoError(t, err)
	assert.Empty(t, entries, "no file was written")
	_, err = cl.Namespace().Versions("k2")
	assert.ErrorIs(t, err, meta.ErrNotFound, "nothing was stored")

	// After --, keys and files that start with - are what they say; a
	// lone - is stdin or stdout.
	ok(t, cl, "dash", "put", "--", "-k", "-")
	assert.Equal(t, "dash", ok(t, cl, "", "get", "--", "-k", "-"))
	ok(t, cl, "", "get", "-version", "1", "--", "-k", "-out")
	got, err := os.ReadFile("-out")
	require.NoError(t, err)
	assert.Equal(t, "dash", string(got))
}
