package filtertest

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// quick is the patience for filters that can never pass: they give no
// more output whatever the wait, so a short one decides just as surely.
const quick = 100 * time.Millisecond

// firstByteThenBlocks is a filter that looks as if it streams: it gives
// the first byte at once, then only ever reads its source in 256 KiB
// blocks, so the rest of a short first line waits for bytes that a stream
// has not sent yet.
func firstByteThenBlocks(src io.Reader) io.Reader {
	return &blocks{src: src}
}

type blocks struct {
	src     io.Reader
	started bool
	pending []byte
	err     error
}

func (b *blocks) Read(p []byte) (int, error) {
	if !b.started {
		b.started = true
		return b.src.Read(p[:1])
	}
	if len(b.pending) == 0 && b.err == nil {
		buf := make([]byte, 256<<10)
		n, err := io.ReadFull(b.src, buf)
		b.pending, b.err = buf[:n], err
	}
	if len(b.pending) == 0 {
		return 0, b.err
	}
	n := copy(p, b.pending)
	b.pending = b.pending[n:]
	return n, nil
}

// wholeBody reads the whole body before it gives anything.
func wholeBody(src io.Reader) io.Reader {
	all, err := io.ReadAll(src)
	if err != nil {
		return io.MultiReader(bytes.NewReader(all), errReader{err})
	}
	return bytes.NewReader(all)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// TestStreamsCatchesFiltersThatHoldTheLineBack shows that the streaming
// check needs the whole first line, not a first byte.
func TestStreamsCatchesFiltersThatHoldTheLineBack(t *testing.T) {
	line := "first line of a stream\n"
	same := func(s string) string { return s }

	err := streams(firstByteThenBlocks, line, line, quick)
	if assert.Error(t, err, "a filter that gives one byte and then waits for 256 KiB passed the streaming check") {
		assert.Contains(t, err.Error(), `only "f" had come out`)
	}
	assert.Error(t, streams(func(r io.Reader) io.Reader { return wholeBody(r) }, line, line, quick),
		"a filter that reads the whole body first passed the streaming check")
	assert.Error(t, streams(func(r io.Reader) io.Reader { return r }, line, strings.ToUpper(line), quick),
		"a filter whose first line is wrong passed the streaming check")

	// A wrong first line is reported as wrong, not as held back: a filter
	// that forgot the prefix of the first line gives all it will give at
	// once, and waiting for more would only blame the wrong thing.
	err = streams(func(r io.Reader) io.Reader { return r }, line, "> "+line, Patience)
	if assert.Error(t, err, "a filter that forgot the first line's prefix passed the streaming check") {
		assert.Contains(t, err.Error(), `came out as "first line of a stream\n", want "> first line of a stream\n"`)
		assert.NotContains(t, err.Error(), "holds output back")
	}

	assert.NoError(t, streams(func(r io.Reader) io.Reader { return r }, line, same(line), Patience),
		"a filter that passes bytes on as they come failed the streaming check")
}

// freshBufferPerRead passes its source on unchanged, keeping nothing, but
// allocates a new buffer for every read: memory that is garbage at once,
// yet grows with the body.
func freshBufferPerRead(src io.Reader) io.Reader { return &fresh{src: src} }

type fresh struct {
	src io.Reader
	out []byte
	err error
}

func (f *fresh) Read(p []byte) (int, error) {
	if len(f.out) == 0 {
		if f.err != nil {
			return 0, f.err
		}
		buf := make([]byte, len(p))
		n, err := f.src.Read(buf)
		f.out, f.err = buf[:n], err
	}
	n := copy(p, f.out)
	f.out = f.out[n:]
	return n, nil
}

// TestMemoryCheckNamesBothCauses shows that the memory check fails a
// filter that keeps the body and one that allocates afresh for every read,
// and that its message does not blame the second for keeping the body.
func TestMemoryCheckNamesBothCauses(t *testing.T) {
	const size = 4 << 20
	err := memoryStaysFlat(freshBufferPerRead, size)
	if assert.Error(t, err, "a filter that allocates a buffer for every read passed the memory check") {
		assert.Contains(t, err.Error(), "allocates a new buffer for each read")
		assert.Contains(t, err.Error(), "reuse")
	}
	assert.Error(t, memoryStaysFlat(wholeBody, size), "a filter that reads the whole body first passed the memory check")
	assert.NoError(t, memoryStaysFlat(func(r io.Reader) io.Reader { return r }, size),
		"a filter that passes its source on failed the memory check")
}

// Wrong filters that Run must fail, in the subtest named: each replaces
// foo with bar (want), or passes its input on (same).
var wrongFilters = map[string]struct {
	filter Filter
	want   func(string) string
	failed string // the subtest that must fail
}{
	// Replaces within each read only, so a foo cut across two reads
	// is missed.
	"replaces within each read": {
		filter: func(r io.Reader) io.Reader { return perRead{r} },
		want:   func(s string) string { return strings.ReplaceAll(s, "foo", "bar") },
		failed: "output_is_right_however_the_input_is_cut_into_reads",
	},
	// Ends the body early, without an error, when its source fails.
	"swallows errors": {
		filter: func(r io.Reader) io.Reader { return swallowing{r} },
		want:   func(s string) string { return s },
		failed: "passes_on_the_error_of_its_source",
	},
}

type perRead struct{ r io.Reader }

func (f perRead) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	for i := bytes.Index(p[:n], []byte("foo")); i >= 0; i = bytes.Index(p[:n], []byte("foo")) {
		copy(p[i:], "bar") // in place: the memory check passes it
	}
	return n, err
}

type swallowing struct{ r io.Reader }

func (f swallowing) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err != nil {
		err = io.EOF
	}
	return n, err
}

// TestRunCatchesWrongFilters runs Run on each wrong filter in a child test
// process, since it must fail, and checks that exactly the subtest for
// its mistake failed.
func TestRunCatchesWrongFilters(t *testing.T) {
	if name := os.Getenv("FILTERTEST_WRONG_FILTER"); name != "" {
		w := wrongFilters[name]
		Run(t, w.filter, w.want, "fo ba")
		return
	}
	for name, w := range wrongFilters {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestRunCatchesWrongFilters$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), "FILTERTEST_WRONG_FILTER="+name)
			out, err := cmd.CombinedOutput()
			require.Error(t, err, "Run passed a filter that %s:\n%s", name, out)
			var failed []string
			for _, m := range regexp.MustCompile(`--- FAIL: TestRunCatchesWrongFilters/(\S+)`).FindAllStringSubmatch(string(out), -1) {
				failed = append(failed, m[1])
			}
			assert.Equal(t, []string{w.failed}, failed, "%s", out)
		})
	}
}
