package rewrite

import (
	"bytes"
	"io"
)

// bufSize is how much a Replace filter reads at a time: the size of the
// buffer ReverseProxy copies bodies with.
const bufSize = 32 << 10

// Replace returns a body filter that replaces every old with new as the
// body streams through. Its memory is two buffers of about bufSize (the
// second grows once if new is longer than old), whatever the body's
// length.
//
// An occurrence of old can be split across two reads, so when a read ends
// with the first bytes of old (say "fo" of "foo"), those bytes are held
// back until the next read shows whether they complete it. Nothing else is
// ever held back.
func Replace(old, new string) func(io.Reader) io.Reader {
	if old == "" {
		return func(r io.Reader) io.Reader { return r }
	}
	return func(r io.Reader) io.Reader {
		return &replacer{
			src:    r,
			old:    []byte(old),
			new:    []byte(new),
			buf:    make([]byte, 0, max(bufSize, 2*len(old))),
			outBuf: make([]byte, 0, max(bufSize, 2*len(old))),
		}
	}
}

type replacer struct {
	src      io.Reader
	old, new []byte
	buf      []byte // read from src and not yet scanned
	outBuf   []byte // the backing array of out, reused by every scan
	out      []byte // scanned and replaced, not yet returned by Read
	err      error  // src's error, returned once out is drained
}

func (r *replacer) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.fill()
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// fill reads once from src and scans what it has: every whole occurrence
// of old is replaced, and a possible start of one at the end is kept in
// buf for the next fill (unless src has ended).
func (r *replacer) fill() {
	n, err := r.src.Read(r.buf[len(r.buf):cap(r.buf)])
	r.buf = r.buf[:len(r.buf)+n]
	r.err = err

	out := r.outBuf[:0]
	data := r.buf
	for {
		i := bytes.Index(data, r.old)
		if i < 0 {
			break
		}
		out = append(out, data[:i]...)
		out = append(out, r.new...)
		data = data[i+len(r.old):]
	}
	keep := 0
	if err == nil {
		keep = partialMatch(data, r.old)
	}
	out = append(out, data[:len(data)-keep]...)
	r.buf = r.buf[:copy(r.buf[:cap(r.buf)], data[len(data)-keep:])]
	r.outBuf, r.out = out, out
}

// partialMatch returns the length of the longest end of data that is a
// start of old (shorter than old itself).
func partialMatch(data, old []byte) int {
	for k := min(len(old)-1, len(data)); k > 0; k-- {
		if bytes.HasSuffix(data, old[:k]) {
			return k
		}
	}
	return 0
}
