package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/deadaddr"
	"github.com/gocourse/gateway/07-object-storage/dataserver"
	"github.com/gocourse/gateway/07-object-storage/meta"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

// A command that fails prints one line on stderr, naming the command,
// the key and the reason, and exits 1. A deleted object and a missing
// one are told apart by the client's error alone (meta.ErrDeleted), with
// no second request: a version that is a delete marker says so, one that
// does not exist is "no version N", whether or not the key has others.
func TestFailures(t *testing.T) {
	t.Parallel()
	cl := newStore(t)
	ok(t, cl, "one", "put", "k")
	ok(t, cl, "", "rm", "k")
	missing := filepath.Join(t.TempDir(), "missing.txt")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"put", "a/../b"}, `cli: put "a/../b": bad object key: has a ".." path segment`},
		{[]string{"get", ""}, `cli: get "": bad object key: empty`},
		{[]string{"put", "k2", missing}, `cli: put "k2": open ` + missing + `: no such file or directory`},
		{[]string{"get", "nope"}, `cli: get "nope": no such object`},
		{[]string{"get", "k"}, `cli: get "k": deleted: its latest version is a delete marker (versions lists the older ones)`},
		{[]string{"stat", "k"}, `cli: stat "k": deleted: its latest version is a delete marker (versions lists the older ones)`},
		{[]string{"stat", "nope"}, `cli: stat "nope": no such object`},
		{[]string{"rm", "nope"}, `cli: rm "nope": no such object`},
		{[]string{"rm", "k"}, `cli: rm "k": deleted already: its latest version is a delete marker (versions lists the older ones)`},
		{[]string{"versions", "nope"}, `cli: versions "nope": no such object`},
		{[]string{"get", "-version", "9", "k"}, `cli: get "k": no version 9`},
		{[]string{"stat", "-version", "2", "k"}, `cli: stat "k": version 2 is a delete marker`},
		{[]string{"stat", "-version", "2", "nope"}, `cli: stat "nope": no version 2`}, // as the API server says it
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := cli(cl, strings.NewReader("content"), tc.args...)
			assert.Equal(t, 1, r.code)
			assert.Empty(t, r.stdout)
			assert.Equal(t, tc.want+"\n", r.stderr)
		})
	}
	_, err := cl.Namespace().Versions("k2")
	assert.ErrorIs(t, err, meta.ErrNotFound, "a failed put stores nothing")
}

func TestMetadataServerUnreachable(t *testing.T) {
	t.Parallel()
	url := deadaddr.URL(t) // nobody listens there, nor will while the test runs
	for _, args := range [][]string{{"stat", "k"}, {"put", "k"}, {"get", "k"}, {"ls"}, {"rm", "k"}, {"versions", "k"}} {
		r := cliContext(context.Background(), url, strings.NewReader("content"), args...)
		assert.Equal(t, 1, r.code)
		what := args[0]
		if len(args) > 1 {
			what += ` "k"`
		}
		assert.Regexp(t, "^cli: "+regexp.QuoteMeta(what+": metadata server unreachable at "+url+" (dial tcp ")+`.*connection refused\)`+"\n$", r.stderr)
	}
}

// A write that too few data servers take stores nothing; a read that no
// data server can serve says what each one did.
func TestDataServersDown(t *testing.T) {
	t.Parallel()
	cl := newStore(t)
	ok(t, cl, "before", "put", "k")
	v, err := cl.Namespace().Get("k", 0)
	require.NoError(t, err)
	for _, id := range v.Replicas {
		addr, _ := cl.Namespace().ServerAddr(id)
		cl.Node(addr).HTTP.Close()
	}

	r := cli(cl, nil, "get", "k")
	assert.Equal(t, 1, r.code)
	assert.Empty(t, r.stdout)
	assert.Regexp(t, `^cli: get "k": no data server could serve a verified copy \(http://127\.0\.0\.1:\d+: .*connection refused; http://127\.0\.0\.1:\d+: .*connection refused\)`+"\n$", r.stderr)

	r = cli(cl, strings.NewReader("after"), "put", "k2")
	assert.Equal(t, 1, r.code)
	assert.Empty(t, r.stdout)
	// On 1 server if the live one is in the first round of uploads; on 0
	// if both of that round's are down, since the one server left could
	// not make up W = 2 and is not tried (the ring decides, by ports).
	assert.Regexp(t, `^cli: put "k2": nothing stored: blob stored on [01] servers, need 2: too few replicas; last failure: .*connection refused`+"\n$", r.stderr)
	_, err = cl.Namespace().Versions("k2")
	assert.ErrorIs(t, err, meta.ErrNotFound, "a failed put stores nothing")
}

// Ctrl-C cancels the context: the command stops and says so.
func TestInterrupted(t *testing.T) {
	t.Parallel()
	cl := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := cliContext(ctx, cl.MetaURL, nil, "stat", "k")
	assert.Equal(t, result{1, "", "cli: stat \"k\": interrupted\n"}, r)
}

// A store whose data servers have no room for an object (each answers
// 507, meta.ErrNoRoom) stores nothing, and the tool says that room is
// why before the details, from stdin and from a file alike.
func TestFullStoreSaysNoRoom(t *testing.T) {
	t.Parallel()
	cl := storetest.NewWith(t, 3, meta.Options{}, dataserver.Options{Capacity: 10})
	file := filepath.Join(t.TempDir(), "big.txt")
	content := "more than the ten bytes a data server has room for"
	require.NoError(t, os.WriteFile(file, []byte(content), 0o644))
	for _, args := range [][]string{{"put", "big"}, {"put", "big", file}} {
		r := cli(cl, strings.NewReader(content), args...)
		assert.Equal(t, 1, r.code, args)
		assert.Empty(t, r.stdout, args)
		assert.Regexp(t, `^cli: put "big": nothing stored: too few data servers have room for it \(blob stored on 0 servers, need 2: .*no room for the blob\)`+"\n$", r.stderr, args)
	}
	_, err := cl.Namespace().Versions("big")
	assert.ErrorIs(t, err, meta.ErrNotFound, "a refused put stores nothing")
	ok(t, cl, "tiny", "put", "small") // what fits is stored
}
