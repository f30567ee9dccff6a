package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// PutOptions say what a writer knows about an object besides its bytes.
// The zero value says nothing.
type PutOptions struct {
	// ContentType is the object's media type, such as "image/png", kept
	// with the version and returned by Stat and Get (meta.Version's
	// ContentType); "" for none. It must pass meta.ValidateContentType:
	// a type that does not is refused before any byte is read.
	ContentType string
}

// Put stores everything r yields as the newest version of key, with no
// content type (PutDigest takes one).
//
// A blob is named by its hash, and the hash is known only at the end of
// the stream, so Put first spools r to a temporary file while hashing it:
// memory stays bounded whatever the object's size, r is read once (it
// may be a network connection), and each replica is then sent from the
// file. The price is one extra write and read of the object on local
// disk. (Hashing first and streaming second would need r twice.) An
// object no larger than Options.MemoryLimit is kept in memory instead.
//
// Then it asks the metadata server for a placement, uploads to the first
// R targets that do not already hold the blob, moves down the list past
// any that fail, and commits once at least W copies exist. An object
// identical to one already stored is not uploaded at all. If a copy goes
// away between its upload and the commit (its data server restarts), the
// metadata server refuses the commit, and Put, which still has the
// object, places, uploads and commits once more (maxCommitRetries).
func (c *Client) Put(ctx context.Context, key string, r io.Reader) (meta.Version, error) {
	return c.PutDigest(ctx, key, r, "", PutOptions{})
}

// PutDigest is Put for a caller that knows the content's SHA-256: if the
// bytes read do not match want, it returns blob.ErrDigestMismatch and
// stores nothing. An empty want checks nothing. opt says the rest
// (PutOptions).
func (c *Client) PutDigest(ctx context.Context, key string, r io.Reader, want blob.Hash, opt PutOptions) (meta.Version, error) {
	if err := meta.ValidateKey(key); err != nil {
		return meta.Version{}, err
	}
	if err := meta.ValidateContentType(opt.ContentType); err != nil {
		return meta.Version{}, fmt.Errorf("put %q: %w", key, err)
	}
	if want != "" {
		if _, err := blob.ParseHash(string(want)); err != nil {
			return meta.Version{}, err
		}
	}
	spool, hash, size, discard, err := c.spool(ctx, r)
	if err != nil {
		return meta.Version{}, err
	}
	defer discard()
	if want != "" && hash != want {
		return meta.Version{}, fmt.Errorf("put %q: content hashes to %s, the caller said %s: %w", key, hash.Short(), want.Short(), blob.ErrDigestMismatch)
	}

	p, err := c.place(ctx, key, hash, size)
	if err != nil {
		return meta.Version{}, err
	}
	var (
		chunks    *blob.Chunks
		chunksErr error
		hashing   sync.WaitGroup
	)
	if size > blob.ChunkSize {
		hashing.Go(func() { chunks, chunksErr = chunkList(ctx, spool, size) })
	}
	stored, lastErr := c.replicate(ctx, spool, hash, size, p)
	hashing.Wait()
	for retries := 0; ; retries++ {
		if err := ctx.Err(); err != nil {
			// The caller gave up: the uploads failed because of that, and
			// meta.ErrTooFewReplicas would blame the store.
			return meta.Version{}, fmt.Errorf("put %q: %w", key, err)
		}
		if chunksErr != nil {
			return meta.Version{}, fmt.Errorf("put %q: %w", key, chunksErr)
		}
		sent := len(stored) >= p.Quorum // else commit refuses it here
		v, err := c.commit(ctx, p, meta.CommitRequest{Key: key, Hash: hash, Size: size, Replicas: stored, ContentType: opt.ContentType, Chunks: chunks}, lastErr)
		// Refused although every copy named was stored: one has gone
		// since its upload (its server stopped in a rolling restart, or
		// was killed). The spool still holds the object: place it again
		// (a placement offers only copies that answer now), upload what
		// is missing, and commit again. Nothing else is retried: a failed
		// upload already moved down the ring, and a bad request stays bad.
		if !copyGone(ctx, err, sent) || retries == maxCommitRetries {
			return v, err
		}
		c.opt.Log.Warn("commit refused: a copy is gone since its upload; placing the blob again", "key", key, "blob", hash.Short(), "err", err)
		if p, err = c.place(ctx, key, hash, size); err != nil {
			return meta.Version{}, err
		}
		stored, lastErr = c.replicate(ctx, spool, hash, size, p)
	}
}

// maxCommitRetries bounds how often Put places and uploads again after a
// commit refused for a copy gone since its upload. One is enough for
// what it is for: a rolling restart takes down one data server at a
// time, and the retry's uploads go to servers that answer now. A write
// that loses a copy again is racing servers that go down faster than it
// can commit; more tries would keep its caller waiting on a store in
// trouble, and the 503 lets the caller decide.
const maxCommitRetries = 1

// place asks the metadata server where to store blob hash for key.
func (c *Client) place(ctx context.Context, key string, hash blob.Hash, size int64) (meta.Placement, error) {
	var p meta.Placement
	if err := c.call(ctx, http.MethodPost, "/writes", nil, meta.WriteRequest{Key: key, Hash: hash, Size: size}, &p); err != nil {
		return meta.Placement{}, fmt.Errorf("put %q: %w", key, err)
	}
	return p, nil
}

// commit records req as the newest version of its key, if its blob is
// stored on at least the quorum of servers that p asks for; lastErr, an
// upload failure (see reported), goes into the error if not. The
// metadata server checks the quorum again, with the data servers
// themselves.
func (c *Client) commit(ctx context.Context, p meta.Placement, req meta.CommitRequest, lastErr error) (meta.Version, error) {
	if len(req.Replicas) < p.Quorum {
		err := fmt.Errorf("put %q: blob stored on %d servers, need %d: %w", req.Key, len(req.Replicas), p.Quorum, meta.ErrTooFewReplicas)
		if lastErr != nil {
			err = fmt.Errorf("%w; last failure: %w", err, lastErr)
		}
		return meta.Version{}, err
	}
	var v meta.Version
	defer c.metas.forget(req.Key)
	if err := c.call(ctx, http.MethodPost, "/commits", nil, req, &v); err != nil {
		return meta.Version{}, fmt.Errorf("put %q: commit: %w", req.Key, err)
	}
	return v, nil
}

// spool reads r to its end, hashing it, and keeps what it read for the
// uploads: in memory up to MemoryLimit bytes, else in a temporary file,
// which discard removes. It stops reading once ctx is done: a caller who
// gave up must not wait while the rest of a large body goes to disk for
// nothing.
func (c *Client) spool(ctx context.Context, r io.Reader) (content io.ReaderAt, hash blob.Hash, size int64, discard func(), err error) {
	r = ctxReader{ctx, r}
	sum := sha256.New()
	// An object no larger than MemoryLimit is kept in memory: for a small
	// object, creating, writing and removing a file costs more than
	// everything else the API server does with it. A larger one has been
	// read that far before it is known to be larger: those bytes go to
	// the file first. (The buffer is not pooled: a pool would keep a
	// megabyte-sized buffer per upload in progress, small ones included.)
	head, err := io.ReadAll(io.LimitReader(io.TeeReader(r, sum), orMore(c.opt.MemoryLimit)))
	if err != nil {
		return nil, "", 0, nil, fmt.Errorf("reading the object: %w", err)
	}
	if int64(len(head)) <= c.opt.MemoryLimit {
		return bytes.NewReader(head), blob.Hash(hex.EncodeToString(sum.Sum(nil))), int64(len(head)), func() {}, nil
	}
	f, err := os.CreateTemp(c.opt.TempDir, "put-*")
	if err != nil {
		return nil, "", 0, nil, fmt.Errorf("spooling the object: %w", err)
	}
	discard = func() { f.Close(); os.Remove(f.Name()) }
	if _, err = f.Write(head); err == nil {
		size, err = blob.Copy(io.MultiWriter(f, sum), r)
	}
	if err != nil {
		discard()
		return nil, "", 0, nil, fmt.Errorf("reading the object: %w", err)
	}
	return f, blob.Hash(hex.EncodeToString(sum.Sum(nil))), int64(len(head)) + size, discard, nil
}

// chunkList hashes content in pieces of blob.ChunkSize, for readers to
// stream it (blob.Chunks). A blob of one chunk or less needs no list:
// its one chunk's hash would be the blob's, and the list is nil. Put
// runs it beside the uploads, which wait on the network and the data
// servers' disks, so that this second SHA-256 pass over the spool
// overlaps them instead of adding to the time before the first upload.
// It stops once ctx is done, as spool does.
func chunkList(ctx context.Context, content io.ReaderAt, size int64) (*blob.Chunks, error) {
	if size <= blob.ChunkSize {
		return nil, nil
	}
	h := blob.NewChunkHasher()
	if _, err := blob.Copy(h, ctxReader{ctx, io.NewSectionReader(content, 0, size)}); err != nil {
		return nil, fmt.Errorf("hashing the chunks: %w", err)
	}
	chunks := h.Chunks()
	return &chunks, nil
}

// ctxReader is r that fails with ctx's error, once ctx is done, instead
// of reading on.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// orMore is n+1, the most to read to learn whether there are more than n
// bytes, without overflowing.
func orMore(n int64) int64 {
	if n == math.MaxInt64 {
		return n
	}
	return n + 1
}

// replicate makes up to R copies, counting servers that have the blob
// already, and returns the servers that hold it and the failure to
// report if there are too few (reported).
//
// Once so many uploads have failed that the rest, with every server
// left to try, cannot make W copies, the write is doomed: replicate
// gives the uploads under way doomedGrace to end on their own, cuts
// short those that have not (a data server that hangs would hold the
// write until its stall clock fires), and tries no further server.
//
// Once W copies are made, an upload still under way that makes no
// progress for quorumGrace is cut short, and replicate tries no further
// server: the write commits with the copies it has, and repair makes up
// the rest (laggards).
func (c *Client) replicate(ctx context.Context, content io.ReaderAt, hash blob.Hash, size int64, p meta.Placement) ([]string, error) {
	stored := slices.Clone(p.Have)
	var candidates []string
	for _, t := range p.Targets {
		if !slices.Contains(stored, t) {
			candidates = append(candidates, t)
		}
	}
	var lastErr error
	// Each round uploads, in parallel, to as many new servers as copies
	// are still missing; a failed server is replaced in the next round,
	// unless ctx is done: then every upload would fail the same way.
	for len(stored) < p.Replicas && len(candidates) > 0 && ctx.Err() == nil {
		round := candidates[:min(p.Replicas-len(stored), len(candidates))]
		candidates = candidates[len(round):]
		// Failures the write can bear: past this many, it is doomed.
		spare := int64(len(stored) + len(round) + len(candidates) - p.Quorum)
		errs := make([]error, len(round))
		var (
			wg     sync.WaitGroup
			failed atomic.Int64
			made   atomic.Int64 // copies, this round's included
			grace  graceTimer
		)
		made.Store(int64(len(stored)))
		roundCtx, cut := context.WithCancelCause(ctx)
		lag := newLaggards(c, roundCtx, len(round))
		cutShort, beyond := false, make([]bool, len(round))
		if made.Load() >= int64(p.Quorum) {
			lag.start() // W copies exist already: this round is beyond W
		}
		for i, addr := range round {
			wg.Go(func() {
				err := c.upload(lag.uploads[i].ctx, addr, lag.body(i, io.NewSectionReader(content, 0, size)), hash, size)
				errs[i], beyond[i] = err, lag.ended(i, err)
				switch {
				case err == nil:
					if made.Add(1) == int64(p.Quorum) {
						lag.start()
					}
				case beyond[i]: // not a failure
				case failed.Add(1) > spare:
					grace.start(c, func() { cut(errCutShort) })
				}
			})
		}
		wg.Wait()
		grace.stop()
		lag.stop()
		cut(nil)
		lagged := false
		for i, err := range errs {
			switch {
			case err == nil:
				stored = append(stored, round[i])
			case beyond[i]:
				// Cut short beyond W (laggards): it says nothing of its
				// server, and the write does not need it.
				lagged = true
				c.opt.Log.Info("upload beyond the write quorum made no progress; committing without it", "addr", round[i], "blob", hash.Short())
			case context.Cause(roundCtx) == errCutShort && (errors.Is(err, errCutShort) || errors.Is(err, context.Canceled)):
				// Cut short by the doom: it says nothing of its server.
				// (net/http may fail it with the context's cause,
				// errCutShort, as it does an upload awaiting its answer,
				// or with context.Canceled.)
				cutShort = true
			default:
				lastErr = reported(lastErr, err)
				c.opt.Log.Warn("upload failed; trying another data server", "addr", round[i], "blob", hash.Short(), "err", err)
				if errors.Is(err, ErrTooLarge) {
					return stored, err // every server has the same limit
				}
			}
		}
		if failed.Load() > spare {
			// Doomed: no server left can make up for it.
			return stored, beside(lastErr, cutShort)
		}
		if lagged {
			return stored, lastErr // W copies; repair makes the rest
		}
	}
	return stored, lastErr
}

// errCutShort is the cause of an upload that a doomed write cut short.
var errCutShort = errors.New("cut short: the write was doomed")

// reported is the upload failure a write that made too few copies
// reports, of the one reported so far (nil: none) and a later one err:
// err, unless it is a refusal for want of room (meta.ErrNoRoom) and
// prev is not. So a write is blamed on room (507 at the API) only if
// every upload that failed was refused for it: beside a server that was
// down, say, a full one is not the whole story, and which of the two
// failed last is only the order of the placement.
func reported(prev, err error) error {
	if prev != nil && errors.Is(err, meta.ErrNoRoom) && !errors.Is(prev, meta.ErrNoRoom) {
		return prev
	}
	return err
}

// upload sends one blob to one data server. A server that stops taking
// the body for Options.StallTimeout is given up on (watch).
func (c *Client) upload(ctx context.Context, addr string, body io.Reader, hash blob.Hash, size int64) (err error) {
	w := c.watch(ctx, addr)
	defer func() { err = w.end(err) }()
	req, err := http.NewRequestWithContext(w.ctx, http.MethodPut, addr+"/blobs/"+string(hash), w.sending(body))
	if err != nil {
		return err
	}
	req.ContentLength = size
	if size > 0 {
		req.Header.Set("Expect", "100-continue")
	} else {
		req.Body = http.NoBody
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("data server %s: %w", addr, dataStatusError(resp))
	}
	return nil
}
