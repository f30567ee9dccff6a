package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// ErrCorrupt is a replica whose bytes do not match the blob's hash.
var ErrCorrupt = errors.New("replica content does not match its hash")

// Object is one version of an object and its content. Every byte it
// hands out has been checked: against the blob's hash before Get
// returned, or, for a large blob read as a stream, against its chunk's
// hash before the chunk is handed out (see Get). It can seek, for Range
// requests. It is for one goroutine at a time, except that Close may be
// called while a Read is in progress. Close does not cut that Read short
// (a streamed object's Close waits for it); a data server that hangs is
// left for the next replica after Options.StallTimeout, and cancelling
// Get's ctx ends the Read at once. Close it: it holds a temporary file, or a
// connection and a buffer.
type Object struct {
	meta.Version

	// FreshUntil is when the metadata the Object was read with (its
	// Version) stops being fresh: until then the Client may answer
	// lookups of the same key and version with it from its metadata
	// cache, though another Client may have written the key since (the
	// cache's bound, Options.MetaCacheTTL). A cache of anything made from the
	// Object that keeps it no later than FreshUntil serves nothing older
	// than the Client itself would. It is the expiry of the cache entry
	// the Version came from, or, for a lookup just made, the lookup's
	// start plus the TTL. It is the zero time when the lookup was not
	// cached: the cache is off, or the Client forgot the key while it
	// was looked up (it wrote or deleted the key, or reported or repaired
	// a bad copy of its blob), so the answer may predate that.
	FreshUntil time.Time

	content
	close func() error
}

// content is verified bytes: a *bytes.Reader, an *os.File or a
// *stream.
type content = io.ReadSeeker

// Close releases the content: a temporary file, or a stream's
// connection and buffer.
func (o *Object) Close() error { return o.close() }

// Get returns version number of key (the latest if number is 0).
//
// The caller never receives a byte that failed verification. A blob up
// to Options.MemoryLimit is fetched whole into memory and checked
// against its hash before Get returns, then kept in the data cache. A
// larger one with a chunk list (blob.Chunks, recorded by Put and
// PutStream) is
// streamed: the Object hands out each chunk once it matches its hash,
// and Get returns after the first one. A larger one without a list (a
// blob stored before lists existed) is fetched whole into a temporary
// file and checked first. If a replica fails, or its bytes do not
// match, Get tries the next one, and reports a bad copy to the metadata
// server so that no one is sent to it again. The server checks a report
// after its answer and lists the copy until then, so for ten minutes this
// Client tries the copy last (doubts). A replica that sends
// nothing for Options.StallTimeout has failed (ErrStalled); it is slow,
// not bad, and is not reported. If every replica fails and the lookup
// came from the metadata cache, Get looks the key up again, and tries
// the servers named now if they are others.
//
// The Object reads with ctx: keep ctx alive until it is closed.
func (c *Client) Get(ctx context.Context, key string, number uint64) (*Object, error) {
	return c.GetFrom(ctx, key, number, 0)
}

// GetFrom is Get for a caller that will read from offset first, as an
// HTTP server answering a Range request does: a streamed object checks,
// before GetFrom returns, the chunk that holds offset instead of the
// first one, so a range near the end of a large object costs only the
// chunks it covers. A negative offset counts from the end, as a suffix
// range ("bytes=-500") does; one outside the object means its nearest
// chunk. Reading from elsewhere still works (each Read fetches and checks
// the chunk it needs), but then the chunk checked first was read for
// nothing, and a failure on the chunk the caller needs comes after
// GetFrom has returned.
func (c *Client) GetFrom(ctx context.Context, key string, number uint64, offset int64) (*Object, error) {
	return c.GetFromFunc(ctx, key, number, func(meta.Version) int64 { return offset })
}

// GetFromFunc is GetFrom for a caller that knows where it will read
// first only once it knows the version: an HTTP server whose Range
// applies only if If-Range matches the version's ETag or date, or only
// if its ranges make sense for the version's size, reads from byte 0
// otherwise. offset is called with each version Get tries to read (a
// second time if it looks the key up again), the last time with the
// Object's.
func (c *Client) GetFromFunc(ctx context.Context, key string, number uint64, offset func(meta.Version) int64) (*Object, error) {
	v, freshUntil, cached, err := c.stat(ctx, key, number)
	if err != nil {
		return nil, err
	}
	o, err := c.read(ctx, v, offset(v))
	if err == nil {
		o.FreshUntil = freshUntil
		return o, nil
	}
	if !errors.Is(err, ErrNoReplica) {
		return nil, err
	}
	// No replica the lookup named could serve the blob. The metadata
	// server may know better: a lookup from the cache can be seconds old,
	// and name servers that have since died or moved. So the lookup is
	// not kept, and one from the cache is made again; if it names another
	// blob or other servers, they are tried.
	c.metas.forget(key)
	if !cached {
		return nil, err
	}
	fresh, freshUntil, err2 := c.StatFreshUntil(ctx, key, number)
	if err2 != nil {
		return nil, err2 // the key deleted meanwhile, the metadata server down...
	}
	if fresh.Hash == v.Hash && sameSet(fresh.Replicas, v.Replicas) {
		return nil, err
	}
	if o, err = c.read(ctx, fresh, offset(fresh)); err != nil {
		return nil, err
	}
	o.FreshUntil = freshUntil
	return o, nil
}

// read returns v's content, as GetFrom describes.
func (c *Client) read(ctx context.Context, v meta.Version, offset int64) (*Object, error) {
	if data, ok := c.blobs.get(v.Hash); ok {
		// The bytes matched v.Hash when they went in; a size other than
		// theirs is the metadata's error, as fetch finds it.
		if err := check(v, int64(len(data)), v.Hash); err != nil {
			return nil, fmt.Errorf("get %q version %d: %w", v.Key, v.Number, err)
		}
		return &Object{Version: v, content: bytes.NewReader(data), close: func() error { return nil }}, nil
	}
	// A copy this client reported bad may still be on record (the
	// metadata server checks a report after its answer): tried last.
	v.Replicas = c.doubts.last(v.Hash, v.Replicas)
	if v.Size > c.opt.MemoryLimit && v.Size > blob.ChunkSize {
		var chunks blob.Chunks
		err := c.call(ctx, http.MethodGet, "/chunks/"+string(v.Hash), nil, nil, &chunks)
		switch {
		case err == nil && usable(chunks, v):
			o, err := c.openStream(ctx, v, chunks, offset)
			if !errors.Is(err, errListDoubted) {
				return o, err
			}
			// No replica matched the list on the chunk checked, and nothing has
			// been handed out: read the blob whole, checked against H.
		case err == nil:
			c.opt.Log.Warn("unusable chunk list; reading the blob whole", "blob", v.Hash.Short(), "chunk_size", chunks.Size, "chunks", len(chunks.Hashes))
		case ctx.Err() != nil:
			// The caller gave up: not the store's failure, and nothing to
			// log. The loop below fails at once with ctx's error.
		case !errors.Is(err, meta.ErrNotFound):
			c.opt.Log.Warn("no chunk list; reading the blob whole", "blob", v.Hash.Short(), "err", err)
		}
	}
	var (
		errs []error
		bad  int
	)
	for _, addr := range v.Replicas {
		o, err := c.fetch(ctx, addr, v)
		if err == nil {
			if bad > 0 {
				c.repair(ctx, v, o.content.(io.ReaderAt)) // fetch's content: bytes or a file
			}
			return o, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
		if ctx.Err() != nil {
			break
		}
		if errors.Is(err, errSizeClaim) {
			break // every copy holds the same bytes: the next fails the same way
		}
		if errors.Is(err, ErrCorrupt) || errors.Is(err, errNoCopy) {
			c.reportBad(ctx, v, addr, err)
			bad++
		}
	}
	if len(errs) > 0 && errors.Is(errs[len(errs)-1], errSizeClaim) {
		return nil, fmt.Errorf("get %q version %d: %w", v.Key, v.Number, errs[len(errs)-1])
	}
	return nil, fmt.Errorf("get %q version %d: %w", v.Key, v.Number, errors.Join(append([]error{noReplica(ctx)}, errs...)...))
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// noReplica is what a read that no replica served fails with:
// ErrNoReplica, unless the caller gave up (ctx is done), which is then
// the reason, not the replicas. (An API server answers 502 to the one,
// and to the other nobody.)
func noReplica(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return ErrNoReplica
}

// fetch reads the blob whole from addr and checks it. A data server that
// sends nothing for Options.StallTimeout, before its headers or within
// the body, fails it with ErrStalled (watch), and Get tries the next.
func (c *Client) fetch(ctx context.Context, addr string, v meta.Version) (_ *Object, err error) {
	w := c.watch(ctx, addr)
	defer func() { err = w.end(err) }()
	req, err := http.NewRequestWithContext(w.ctx, http.MethodGet, addr+"/blobs/"+string(v.Hash), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body = w.receiving(resp.Body)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, dataStatusError(resp)
	}
	// Read at most one byte more than expected: enough to notice a replica
	// that is too long, without letting it fill the disk. (orMore: a
	// claimed size of math.MaxInt64 plus one would be a negative limit,
	// and nothing would be read.)
	body := io.LimitReader(resp.Body, orMore(v.Size))

	if v.Size <= c.opt.MemoryLimit {
		// The buffer is no larger than the answer either: a size claimed
		// wrongly large (with MemoryLimit as large) must not be allocated.
		buf := orMore(v.Size)
		if resp.ContentLength >= 0 {
			buf = min(buf, orMore(resp.ContentLength))
		}
		data, err := readSized(body, buf)
		if err != nil {
			return nil, err
		}
		if err := check(v, int64(len(data)), blob.Sum(data)); err != nil {
			return nil, err
		}
		c.blobs.put(v.Hash, data)
		return &Object{Version: v, content: bytes.NewReader(data), close: func() error { return nil }}, nil
	}

	f, err := os.CreateTemp(c.opt.TempDir, "get-*")
	if err != nil {
		return nil, err
	}
	discard := func() error { f.Close(); return os.Remove(f.Name()) }
	sum := sha256.New()
	n, err := blob.Copy(io.MultiWriter(f, sum), body)
	if err == nil {
		err = check(v, n, blob.Hash(hex.EncodeToString(sum.Sum(nil))))
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		discard()
		return nil, err
	}
	return &Object{Version: v, content: f, close: discard}, nil
}

// readSized is io.ReadAll into a buffer of n bytes that it never grows,
// since n is known: io.ReadAll starts at 512 bytes and grows by a
// quarter or more, and the spare room would stay with a blob kept in the
// data cache.
func readSized(r io.Reader, n int64) ([]byte, error) {
	b := make([]byte, 0, n)
	for len(b) < cap(b) {
		k, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+k]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return b, nil
}

// errSizeClaim is a copy whose bytes hash to the blob's hash but whose
// length is not the size the metadata server gave: the copy is the blob
// (a blob is named by its content), so the size is what is wrong. No
// copy can match it, and none is reported bad for it.
var errSizeClaim = fmt.Errorf("%w: the blob's size is not its content's", ErrBadAnswer)

// check compares n bytes hashing to got with v. Bytes that match the
// hash but not the size prove the metadata wrong, not the copy
// (errSizeClaim). So do a copy one byte longer than the claim, read
// whole (fetch reads to v.Size+1). The rest of the converse cannot be
// told apart cheaply: a copy longer still is read only to v.Size+1
// bytes, which match no hash, so a size claimed two or more bytes too
// small still has the copy reported.
func check(v meta.Version, n int64, got blob.Hash) error {
	if got == v.Hash && n != v.Size {
		return fmt.Errorf("%w: %d bytes hash to %s, the metadata says %d", errSizeClaim, n, got.Short(), v.Size)
	}
	if n != v.Size || got != v.Hash {
		return fmt.Errorf("%w: got %d bytes hashing to %s, want %d bytes hashing to %s",
			ErrCorrupt, n, got.Short(), v.Size, v.Hash.Short())
	}
	return nil
}

// reportBad tells the metadata server that v's copy at addr is bad (why
// says how it was found), and logs it: a warning, since a bad copy is a
// data server's failure an operator wants to hear of (the tool's -v shows
// it), though the read goes on from another copy.
func (c *Client) reportBad(ctx context.Context, v meta.Version, addr string, why error) {
	c.opt.Log.Warn("bad copy found; reporting it", "addr", addr, "key", v.Key, "blob", v.Hash.Short(), "err", why)
	c.doubts.add(v.Hash, addr)
	// Forget v.Key once the report is made, as commit does: a lookup
	// answered before then may still list addr.
	defer c.metas.forget(v.Key)
	err := c.call(ctx, http.MethodPost, "/bad", nil, meta.BadReplica{Hash: v.Hash, Addr: addr}, nil)
	if err != nil {
		c.opt.Log.Warn("could not report a bad replica", "addr", addr, "blob", v.Hash.Short(), "err", err)
	}
}

// repair makes new copies of a blob after bad ones were found, from the
// verified content the caller is about to get (read repair). It sends the
// bytes to the servers the ring prefers that do not hold a good copy; a
// server that holds a damaged copy replaces it (see package dataserver).
// A failed repair is logged, not returned: the read itself succeeded.
func (c *Client) repair(ctx context.Context, v meta.Version, content io.ReaderAt) {
	var p meta.Placement
	err := c.call(ctx, http.MethodPost, "/writes", nil, meta.WriteRequest{Key: v.Key, Hash: v.Hash, Size: v.Size}, &p)
	if err != nil {
		c.opt.Log.Warn("repair: no placement", "blob", v.Hash.Short(), "err", err)
		return
	}
	stored, err := c.replicate(ctx, content, v.Hash, v.Size, p)
	if len(stored) > len(p.Have) {
		err = c.call(ctx, http.MethodPost, "/replicas", nil, meta.ReplicaRequest{Hash: v.Hash, Size: v.Size, Replicas: stored}, nil)
	}
	if err != nil {
		c.opt.Log.Warn("repair incomplete", "blob", v.Hash.Short(), "copies", len(stored), "err", err)
	}
	c.metas.forget(v.Key)
}
