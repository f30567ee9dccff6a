package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

// large is 3.5 chunks: with -memory below it, put streams it from a file
// or spools it from stdin, and get streams it chunk by chunk.
func large(seed uint64) []byte { return seeded(seed, 3*blob.ChunkSize+blob.ChunkSize/2) }

func dataRanges(cl *storetest.Cluster) []string {
	var ranges []string
	for _, d := range cl.Data {
		ranges = append(ranges, d.Ranges()...)
	}
	return ranges
}

// An object larger than -memory goes in from a file and from stdin, and
// comes back out, to a file and to stdout, streamed.
func TestLargeObjectRoundTrip(t *testing.T) {
	t.Parallel()
	cl := newStore(t)
	dir := t.TempDir()
	data := large(1)
	src := filepath.Join(dir, "big.bin")
	require.NoError(t, os.WriteFile(src, data, 0o644))

	ok(t, cl, "", "-memory", "65536", "put", "from-file", src)
	ok(t, cl, string(data), "-memory", "65536", "put", "from-stdin")
	for _, key := range []string{"from-file", "from-stdin"} {
		dst := filepath.Join(dir, key+".out")
		ok(t, cl, "", "-memory", "65536", "get", key, dst)
		got, err := os.ReadFile(dst)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(data, got), "%s: the file differs", key)
	}
	// Both keys name one blob: the gets above read it as one streamed
	// request each, and so does a get to stdout.
	assert.Equal(t, []string{"bytes=0-", "bytes=0-"}, dataRanges(cl))
	assert.True(t, bytes.Equal(data, []byte(ok(t, cl, "", "-memory", "65536", "get", "from-file"))))
	assert.Len(t, dataRanges(cl), 3)
}

// put FILE hashes the file first and streams it (PutStream): nothing is
// spooled, so it works with no temporary directory at all. From stdin it
// must spool (Put), and fails there, having stored nothing.
func TestPutFileDoesNotSpool(t *testing.T) {
	cl := newStore(t)
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "does-not-exist"))
	data := large(2)
	src := filepath.Join(t.TempDir(), "big.bin")
	require.NoError(t, os.WriteFile(src, data, 0o644))

	ok(t, cl, "", "-memory", "65536", "put", "from-file", src)
	r := cli(cl, bytes.NewReader(data), "-memory", "65536", "put", "from-stdin")
	assert.Equal(t, 1, r.code)
	assert.Regexp(t, `^cli: put "from-stdin": spooling the object: open .*does-not-exist/put-\d+: no such file or directory`+"\n$", r.stderr)
	_, err := cl.Namespace().Versions("from-stdin")
	assert.ErrorIs(t, err, meta.ErrNotFound, "a failed put stores nothing")
}

// corruptAll flips a byte in the middle of every copy of key's blob: in
// chunk 1 of a large one.
func corruptAll(t *testing.T, cl *storetest.Cluster, key string) {
	t.Helper()
	v, err := cl.Namespace().Get(key, 0)
	require.NoError(t, err)
	require.Len(t, v.Replicas, 2)
	for _, id := range v.Replicas {
		cl.ByID(id).Corrupt(t, v.Hash)
	}
}

// get FILE is all or nothing: when no copy can be read whole and
// verified, FILE is not created, or is left as it was, and no temporary
// file stays behind. For a large object, chunk 0 was good and had been
// written to the temporary file when chunk 1 failed.
//
// (A second get of the same key may find no copy to try: the first one
// reported both, and the metadata server forgets each copy once its check
// finds it damaged.)
func TestGetToFileIsAllOrNothing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"small", []byte("read whole into memory and checked")},
		{"large", large(3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := newStore(t)
			dir := t.TempDir()
			absent := filepath.Join(dir, "absent")
			existing := filepath.Join(dir, "existing")
			require.NoError(t, os.WriteFile(existing, []byte("the old content"), 0o600))

			// One object for each FILE, each with both copies bad.
			for _, dst := range []string{absent, existing} {
				key := filepath.Base(dst)
				ok(t, cl, string(tc.data)+key, "-memory", "65536", "put", key)
				corruptAll(t, cl, key)
				r := cli(cl, nil, "-memory", "65536", "get", key, dst)
				assert.Equal(t, 1, r.code)
				assert.Empty(t, r.stdout)
				assert.Regexp(t, `^cli: get "`+key+`": no data server could serve a verified copy \(http://.*replica content does not match its hash.*\)`+"\n$", r.stderr)
			}
			assert.NoFileExists(t, absent)
			got, err := os.ReadFile(existing)
			require.NoError(t, err)
			assert.Equal(t, "the old content", string(got))
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Len(t, entries, 1, "no temporary file is left")
			assert.Equal(t, "existing", entries[0].Name())
		})
	}
}

// get FILE replaces FILE through a temporary file, and the mode bits are
// the temporary file's: an existing FILE keeps its own (here 0666, which
// a file created under the usual umask of 022 would not get), and a new
// one gets what a file the shell creates gets, 0666 less the umask (the
// mode of a file created here with 0666, whatever the umask is).
func TestGetToFilePermissions(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no mode bits beyond read-only")
	}
	cl := newStore(t)
	ok(t, cl, "the new content", "put", "k")
	dir := t.TempDir()

	existing := filepath.Join(dir, "existing")
	require.NoError(t, os.WriteFile(existing, []byte("the old content"), 0o600))
	require.NoError(t, os.Chmod(existing, 0o666)) // past the umask
	ok(t, cl, "", "get", "k", existing)
	assertFile(t, existing, "the new content", 0o666)

	ref := filepath.Join(dir, "created-as-the-shell-does")
	f, err := os.OpenFile(ref, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	fi, err := os.Stat(ref)
	require.NoError(t, err)
	created := filepath.Join(dir, "created")
	ok(t, cl, "", "get", "k", created)
	assertFile(t, created, "the new content", fi.Mode().Perm())
}

func assertFile(t *testing.T, name, content string, perm fs.FileMode) {
	t.Helper()
	got, err := os.ReadFile(name)
	require.NoError(t, err)
	assert.Equal(t, content, string(got))
	fi, err := os.Stat(name)
	require.NoError(t, err)
	assert.Equal(t, perm, fi.Mode().Perm(), "%s: mode %v, want %v", filepath.Base(name), fi.Mode().Perm(), perm)
}

// get to stdout cannot take back what it wrote: when chunk 1 of a large
// object fails on every copy, stdout has chunk 0, verified, and nothing
// more, and the exit status is 1.
func TestGetToStdoutWritesOnlyVerifiedChunks(t *testing.T) {
	t.Parallel()
	cl := newStore(t)
	data := large(4)
	ok(t, cl, string(data), "-memory", "65536", "put", "k")
	corruptAll(t, cl, "k")
	r := cli(cl, nil, "-memory", "65536", "get", "k")
	assert.Equal(t, 1, r.code)
	assert.True(t, bytes.Equal(data[:blob.ChunkSize], []byte(r.stdout)), "stdout: %d bytes, want chunk 0 (%d)", len(r.stdout), blob.ChunkSize)
	assert.Regexp(t, `^cli: get "k": no data server could serve a verified copy \(.*chunk 1`, r.stderr)

	// A small object is checked whole before its first byte goes out.
	ok(t, cl, "small and bad", "put", "small")
	corruptAll(t, cl, "small")
	r = cli(cl, nil, "get", "small")
	assert.Equal(t, 1, r.code)
	assert.Empty(t, r.stdout)
}

// The client's warnings go to stderr with -v, and nowhere without it.
// With two of the three data servers down, a put tries both, warns for
// each failed upload, and fails.
func TestVerboseShowsWarnings(t *testing.T) {
	t.Parallel()
	cl := newStore(t)
	cl.Data[0].HTTP.Close()
	cl.Data[1].HTTP.Close()
	r := cli(cl, strings.NewReader("content"), "put", "k")
	assert.Equal(t, 1, r.code)
	assert.True(t, strings.HasPrefix(r.stderr, `cli: put "k": nothing stored: `), r.stderr)
	assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %s", r.stderr)
	r = cli(cl, strings.NewReader("content"), "-v", "put", "k")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, `level=WARN msg="upload failed; trying another data server"`)
}

// put stores the type -type gives; without -type, a file's type is
// guessed from its extension and stdin has none; -type ” stores none
// for a file too. stat shows the type, "-" for none. A type that is not
// a media type fails the command before anything is stored.
func TestPutContentType(t *testing.T) {
	t.Parallel()
	cl := newStore(t)
	dir := t.TempDir()
	png := filepath.Join(dir, "picture.png")
	require.NoError(t, os.WriteFile(png, []byte("not really a PNG"), 0o644))
	noExt := filepath.Join(dir, "README")
	require.NoError(t, os.WriteFile(noExt, []byte("no extension"), 0o644))

	statType := func(key string) string {
		for l := range strings.Lines(ok(t, cl, "", "stat", key)) {
			if v, found := strings.CutPrefix(l, "type:     "); found {
				return strings.TrimSuffix(v, "\n")
			}
		}
		t.Fatalf("stat %s printed no type line", key)
		return ""
	}
	for _, tc := range []struct {
		stdin string
		args  []string // put's
		key   string
		want  string
	}{
		{"", []string{"guessed", png}, "guessed", "image/png"},
		{"", []string{"no-extension", noExt}, "no-extension", "-"},
		{"", []string{"-type", "application/octet-stream", "overridden", png}, "overridden", "application/octet-stream"},
		{"", []string{"-type", "", "none-for-a-file", png}, "none-for-a-file", "-"},
		{"some text", []string{"stdin"}, "stdin", "-"},
		{"some text", []string{"-type", "text/plain; charset=utf-8", "stdin-typed", "-"}, "stdin-typed", "text/plain; charset=utf-8"},
	} {
		ok(t, cl, tc.stdin, append([]string{"put"}, tc.args...)...)
		assert.Equal(t, tc.want, statType(tc.key), "put %q", tc.args)
	}

	r := cli(cl, nil, "put", "-type", "text/html\r\nX-Evil: 1", "bad", png)
	assert.Equal(t, 1, r.code)
	assert.Equal(t, `cli: put "bad": bad content type: "text/html\r\nX-Evil: 1" holds a character other than printable ASCII`+"\n", r.stderr)
	_, err := cl.Namespace().Versions("bad")
	assert.ErrorIs(t, err, meta.ErrNotFound, "a refused put stores nothing")
}

// cancelling yields data and cancels its context on the read at offset
// at (len(data): the read that finds the end).
type cancelling struct {
	data   []byte
	read   int
	at     int
	cancel context.CancelFunc
}

func (c *cancelling) Read(p []byte) (int, error) {
	if c.read >= c.at {
		c.cancel()
	}
	if c.read == len(c.data) {
		return 0, io.EOF
	}
	n := copy(p, c.data[c.read:])
	c.read += n
	return n, nil
}

// A Ctrl-C during a large put from stdin, while it is being spooled or
// once it has been, stores nothing, leaves no spool file behind, and
// says "interrupted" (exit status 1).
func TestCtrlCDuringPutFromStdin(t *testing.T) {
	data := large(5)
	for _, at := range []int{blob.ChunkSize, len(data)} {
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			cl := newStore(t)
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := cliContext(ctx, cl.MetaURL, &cancelling{data: data, at: at, cancel: cancel}, "-memory", "65536", "put", "k")
			assert.Equal(t, result{1, "", "cli: put \"k\": interrupted\n"}, r)
			_, err := cl.Namespace().Versions("k")
			assert.ErrorIs(t, err, meta.ErrNotFound, "an interrupted put stores nothing")
			assert.Zero(t, cl.Puts(), "nothing was uploaded")
			entries, err := os.ReadDir(tmp)
			require.NoError(t, err)
			assert.Empty(t, entries, "the spool file is removed")
		})
	}
}
