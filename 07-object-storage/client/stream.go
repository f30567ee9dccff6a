package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// maxChunk bounds the chunk size a stream accepts from a chunk list, and
// so the memory one stream holds. The store cuts blobs into
// blob.ChunkSize pieces; a list with pieces beyond this is not used, and
// the blob is read whole instead.
const maxChunk = 16 << 20

var chunkBuffers = sync.Pool{New: func() any { b := make([]byte, blob.ChunkSize); return &b }}

// stream is the content of a large blob, read from a data server piece
// by piece: each chunk is fetched, checked against its hash in the
// blob's chunk list, and only then handed out. So a reader holds one
// chunk, not the blob, and the first bytes go out while the rest are
// still on their way; and still no byte is handed out unchecked.
//
// A replica that fails, or serves a chunk that does not match, is left
// for the next one, which carries on from the same chunk with a Range
// request: the bytes already handed out were checked, so the reader
// sees one unbroken, verified stream. If no replica can serve a chunk,
// Read fails. By then the caller may have sent part of the object on,
// so an error mid-way can only cut the answer short (an HTTP server
// then closes the connection before Content-Length is reached); that is
// the price of not waiting for the whole blob.
//
// The chunk list is the writer's word, recorded by the metadata server;
// nobody can check it against the blob's name without reading the whole
// blob. So a chunk that does not match makes its replica suspect, not
// bad: the replica is reported once another one has served the same
// chunk matching the list. If none does, the stream reads a suspect
// replica whole and checks it against the blob's name (judge): a match
// proves the list wrong, and the stream has the metadata server drop it
// (later reads fetch the blob whole); a mismatch proves the replica bad,
// and it is reported. A wrong list thus costs speed, never a good copy,
// and a bad copy never costs a good list.
//
// A stream is safe for use by one goroutine at a time, and Close may be
// called while a Read is in progress (http.ServeContent reads from a
// goroutine of its own for multi-range answers): Close waits for it.
type stream struct {
	ctx    context.Context
	c      *Client
	v      meta.Version
	chunks blob.Chunks

	mu    sync.Mutex
	addrs []string // replicas still to use, the current one first

	pos  int64   // where the next Read starts
	buf  *[]byte // holds one chunk
	have int     // the chunk in data, or -1
	data []byte  // its checked bytes

	body io.ReadCloser // an answer from addrs[0] that goes on...
	next int           // ...with chunk next
}

// openStream returns v's content as a stream, after fetching and
// checking the chunk that holds offset (see GetFrom): a blob that no
// replica can serve there fails here, before the caller has answered
// anybody.
func (c *Client) openStream(ctx context.Context, v meta.Version, chunks blob.Chunks, offset int64) (*Object, error) {
	s := &stream{ctx: ctx, c: c, v: v, chunks: chunks, addrs: slices.Clone(v.Replicas), have: -1}
	if chunks.Size == blob.ChunkSize {
		s.buf = chunkBuffers.Get().(*[]byte)
	} else {
		b := make([]byte, chunks.Size)
		s.buf = &b
	}
	if err := s.load(s.chunkAt(offset)); err != nil {
		s.Close()
		return nil, err
	}
	return &Object{Version: v, content: s, close: s.Close}, nil
}

// chunkAt is the chunk holding offset, counted from the end if negative;
// an offset outside the blob means its first or last chunk.
func (s *stream) chunkAt(offset int64) int {
	if offset < 0 {
		offset += s.v.Size
	}
	return int(min(max(0, offset/s.chunks.Size), int64(len(s.chunks.Hashes)-1)))
}

// usable reports whether a stream can use chunks for v.
func usable(chunks blob.Chunks, v meta.Version) bool {
	return chunks.Size <= maxChunk && chunks.Check(v.Size) == nil
}

func (s *stream) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pos >= s.v.Size {
		return 0, io.EOF
	}
	i := int(s.pos / s.chunks.Size)
	if i != s.have {
		if err := s.load(i); err != nil {
			return 0, err
		}
	}
	n := copy(p, s.data[s.pos-int64(i)*s.chunks.Size:])
	s.pos += int64(n)
	return n, nil
}

// Seek only moves the position; the next Read fetches what it needs.
func (s *stream) Seek(offset int64, whence int) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += s.pos
	case io.SeekEnd:
		offset += s.v.Size
	default:
		return 0, fmt.Errorf("seek: whence %d", whence)
	}
	if offset < 0 {
		return 0, fmt.Errorf("seek to %d: negative position", offset)
	}
	s.pos = offset
	return offset, nil
}

// Close ends the answer in progress and gives the buffer back.
func (s *stream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop()
	if s.buf != nil && len(*s.buf) == blob.ChunkSize {
		chunkBuffers.Put(s.buf)
	}
	s.buf, s.data, s.have = nil, nil, -1
	return nil
}

// errListDoubted is a chunk that matched its hash on no replica, where a
// replica read whole matched the blob's name: the chunk list was wrong.
var errListDoubted = errors.New("the chunk list does not match the blob; the list was dropped")

// errChunkMismatch is a chunk that does not match its hash in the list.
var errChunkMismatch = errors.New("chunk does not match its hash in the chunk list")

// load makes chunk i the checked one, trying each replica at most once.
// A replica that has no copy of the blob (404) or one of the wrong size
// is reported at once, as Get reports it; one whose chunk does not match
// is reported once another replica's chunk matched, or judged (see
// stream).
func (s *stream) load(i int) error {
	if s.buf == nil {
		return fmt.Errorf("get %q: %w", s.v.Key, os.ErrClosed)
	}
	s.have, s.data = -1, nil
	if err := s.ctx.Err(); err != nil {
		// The caller gave up. The next chunk may be here already (in the
		// socket's buffers), but is not for whoever reads on.
		return fmt.Errorf("get %q version %d, chunk %d: %w", s.v.Key, s.v.Number, i, err)
	}
	var (
		errs     []error
		mismatch []string // replicas whose chunk i did not match the list
	)
	for tries := len(s.addrs); tries > 0 && len(s.addrs) > 0; tries-- {
		err := s.read(i)
		if err == nil {
			s.have = i
			for _, addr := range mismatch {
				s.c.reportBad(s.ctx, s.v, addr, errChunkMismatch)
			}
			return nil
		}
		s.drop()
		addr := s.addrs[0]
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
		if s.ctx.Err() != nil {
			break
		}
		switch {
		case errors.Is(err, errChunkMismatch):
			mismatch = append(mismatch, addr)
			s.addrs = s.addrs[1:]
		case errors.Is(err, ErrCorrupt) || errors.Is(err, errNoCopy):
			s.c.reportBad(s.ctx, s.v, addr, err)
			s.addrs = s.addrs[1:]
		default: // the network, a stall, or a server in trouble: maybe later
			s.addrs = append(s.addrs[1:], addr)
		}
	}
	for _, addr := range mismatch {
		if s.ctx.Err() != nil {
			break
		}
		if s.judge(addr) {
			errs = append(errs, errListDoubted)
			break
		}
	}
	return fmt.Errorf("get %q version %d, chunk %d: %w", s.v.Key, s.v.Number, i,
		errors.Join(append([]error{noReplica(s.ctx)}, errs...)...))
}

// judge settles, for a replica whose chunk did not match the list when no
// other replica's did, whether the replica is bad or the list is wrong:
// it reads the replica whole and checks it against the blob's name,
// which is proof either way. A copy that matches its name means a wrong
// list, which is dropped (true); one that does not is reported. A rare
// case that costs one whole read, so that neither a good copy nor a
// good list is thrown away on a guess.
func (s *stream) judge(addr string) (listWrong bool) {
	o, err := s.c.fetch(s.ctx, addr, s.v)
	switch {
	case err == nil:
		o.Close()
		s.c.dropChunks(s.ctx, s.v.Hash)
		return true
	case errors.Is(err, ErrCorrupt), errors.Is(err, errNoCopy):
		s.c.reportBad(s.ctx, s.v, addr, err)
	}
	return false
}

// read reads chunk i from addrs[0] into the buffer and checks it.
func (s *stream) read(i int) error {
	if s.body == nil || s.next != i {
		s.drop()
		if err := s.open(i); err != nil {
			return err
		}
	}
	start := int64(i) * s.chunks.Size
	data := (*s.buf)[:min(s.chunks.Size, s.v.Size-start)]
	if _, err := io.ReadFull(s.body, data); err != nil {
		return fmt.Errorf("chunk %d: %w", i, err)
	}
	s.next = i + 1
	if got := blob.Sum(data); got != s.chunks.Hashes[i] {
		return fmt.Errorf("%w: %w: chunk %d (bytes %d to %d) hashes to %s, want %s",
			ErrCorrupt, errChunkMismatch, i, start, start+int64(len(data))-1, got.Short(), s.chunks.Hashes[i].Short())
	}
	s.data = data
	return nil
}

// open asks addrs[0] for the blob from chunk i to its end. The rest of
// the blob rather than one chunk: a reader going on to the next chunk
// (the usual case) finds it already on its way, and one request serves
// a whole GET. The answer runs a stall clock (watch) until drop closes
// it: a replica that sends nothing for Options.StallTimeout fails with
// ErrStalled, and load goes on to the next, as after any network error.
func (s *stream) open(i int) (err error) {
	w := s.c.watch(s.ctx, s.addrs[0])
	defer func() {
		if err != nil {
			err = w.end(err)
		}
	}()
	start := int64(i) * s.chunks.Size
	req, err := http.NewRequestWithContext(w.ctx, http.MethodGet, s.addrs[0]+"/blobs/"+string(s.v.Hash), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Range", "bytes="+strconv.FormatInt(start, 10)+"-")
	resp, err := s.c.http.Do(req)
	if err != nil {
		return err
	}
	resp.Body = w.receiving(resp.Body)
	switch {
	case resp.StatusCode == http.StatusPartialContent:
		var first, last, total int64
		_, err = fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-%d/%d", &first, &last, &total)
		if err != nil || first != start || total != s.v.Size {
			err = fmt.Errorf("%w: asked for bytes %d- of %d, got %q", ErrCorrupt, start, s.v.Size, resp.Header.Get("Content-Range"))
		}
	case resp.StatusCode == http.StatusOK && start == 0:
		if resp.ContentLength >= 0 && resp.ContentLength != s.v.Size {
			err = fmt.Errorf("%w: %d bytes, want %d", ErrCorrupt, resp.ContentLength, s.v.Size)
		}
	case resp.StatusCode == http.StatusOK:
		err = fmt.Errorf("asked for bytes %d- and got the whole blob: Range not supported", start)
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		err = fmt.Errorf("%w: shorter than %d bytes", ErrCorrupt, start+1)
	default:
		err = dataStatusError(resp)
	}
	if err != nil {
		resp.Body.Close()
		return err
	}
	s.body, s.next = resp.Body, i
	return nil
}

func (s *stream) drop() {
	if s.body != nil {
		s.body.Close()
		s.body = nil
	}
}

// dropChunks asks the metadata server to forget blob hash's chunk list,
// proven wrong (judge). Reads then fetch the blob whole, and the next
// Put of the same content records a list again.
func (c *Client) dropChunks(ctx context.Context, hash blob.Hash) {
	c.opt.Log.Warn("a chunk list does not match its blob; dropping the list", "blob", hash.Short())
	if err := c.call(ctx, http.MethodDelete, "/chunks/"+string(hash), nil, nil, nil); err != nil {
		c.opt.Log.Warn("could not drop a chunk list", "blob", hash.Short(), "err", err)
	}
}
