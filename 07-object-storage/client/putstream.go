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
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// PutStream stores the size bytes r yields, which must hash to want, as
// the newest version of key, without spooling them: it sends them to
// the data servers while it reads them. opt is as for PutDigest.
//
// Put spools because a blob is named and placed by its hash, known only
// at the end of the stream. A caller that sends the hash first (an HTTP
// client with X-Content-SHA256, as S3 clients send x-amz-content-sha256)
// removes that reason: the placement is known before the first byte, so
// each byte can go on to the R data servers as it arrives, through one
// pipe per server, and the object is written to disk once instead of
// twice. The data servers check the hash as they write and keep nothing
// that does not match; PutStream checks it too, and the size, and if
// either is wrong it cuts the uploads short, so no server keeps a thing.
//
// An object up to Options.MemoryLimit is read into memory and stored as
// PutDigest stores it.
//
// The price is in failures: a data server that fails mid-way cannot be
// replaced by the next one on the ring, since the bytes it missed are
// gone. The write then succeeds with the copies that remain if they are
// at least W, and fails with meta.ErrTooFewReplicas otherwise, as soon
// as that is certain: it stops reading the body then, as it does when
// ctx is done, rather than read and hash the rest for nothing, and it
// cuts short the uploads under way that have not ended a second later
// (doomedGrace). The caller can retry. A copy that goes away between
// its upload and the commit (a data server stopped in a rolling
// restart) makes the metadata server refuse the commit; PutStream has
// no bytes left to send again, so it has the servers of a new placement
// copy the blob from the copies that answer (copyBetweenServers), and
// commits once more, as often as Put retries (maxCommitRetries).
//
// A blob that enough servers hold already is not sent, but it is still
// read and hashed: committing a hash the caller did not prove it
// has would let anyone who knows a hash claim its content.
func (c *Client) PutStream(ctx context.Context, key string, r io.Reader, size int64, want blob.Hash, opt PutOptions) (meta.Version, error) {
	if err := meta.ValidateKey(key); err != nil {
		return meta.Version{}, err
	}
	if err := meta.ValidateContentType(opt.ContentType); err != nil {
		return meta.Version{}, fmt.Errorf("put %q: %w", key, err)
	}
	if _, err := blob.ParseHash(string(want)); err != nil {
		return meta.Version{}, err
	}
	if size < 0 {
		return meta.Version{}, fmt.Errorf("put %q: size %d: %w", key, size, ErrBadRequest)
	}
	if size == 0 || size <= c.opt.MemoryLimit {
		// Small enough to hold: Put's way, which can replace a failed
		// server, costs no disk here.
		data, err := io.ReadAll(io.LimitReader(r, orMore(size)))
		if err != nil {
			return meta.Version{}, fmt.Errorf("put %q: reading the object: %w", key, err)
		}
		if int64(len(data)) != size {
			return meta.Version{}, fmt.Errorf("put %q: got %d bytes, the caller said %d: %w", key, len(data), size, ErrBadRequest)
		}
		return c.PutDigest(ctx, key, bytes.NewReader(data), want, opt)
	}
	var p meta.Placement
	if err := c.call(ctx, http.MethodPost, "/writes", nil, meta.WriteRequest{Key: key, Hash: want, Size: size}, &p); err != nil {
		return meta.Version{}, fmt.Errorf("put %q: %w", key, err)
	}
	var targets []string
	for _, t := range p.Targets {
		if len(p.Have)+len(targets) < p.Replicas && !slices.Contains(p.Have, t) {
			targets = append(targets, t)
		}
	}

	caller := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fan := &fanOut{pass: size - 1, ctx: caller, possible: len(p.Have) + len(targets), quorum: p.Quorum}
	errs, beyond := make([]error, len(targets)), make([]bool, len(targets))
	var (
		wg    sync.WaitGroup
		grace graceTimer
		made  atomic.Int64 // copies, stored ones included
	)
	made.Store(int64(len(p.Have)))
	lag := newLaggards(c, ctx, len(targets))
	for i, addr := range targets {
		pr, pw := io.Pipe()
		fan.pipes = append(fan.pipes, pw)
		wg.Go(func() {
			err := c.upload(lag.uploads[i].ctx, addr, lag.body(i, pr), want, size)
			errs[i], beyond[i] = err, lag.ended(i, err)
			switch {
			case err == nil:
				if made.Add(1) == int64(p.Quorum) {
					lag.start() // W copies: see wg.Wait below
				}
			case beyond[i]: // not a failure
			case fan.fail(): // counted before the pipe closes: the next Write sees it
				grace.start(c, cancel) // doomed: see wg.Wait below
			}
			// An upload that ended without reading everything (a server
			// that failed, or had the blob) must not block the others.
			pr.CloseWithError(errUploadEnded)
		})
	}
	sum, pieces := sha256.New(), blob.NewChunkHasher()
	n, err := blob.Copy(io.MultiWriter(sum, pieces, fan), io.LimitReader(r, size))
	if err != nil && (errors.Is(err, errDoomed) || errors.Is(err, caller.Err())) {
		err = fmt.Errorf("put %q: %w", key, err) // no need to read the rest
	} else if err == nil && n < size {
		err = fmt.Errorf("put %q: the body ended after %d of %d bytes: %w: %w", key, n, size, ErrBadRequest, io.ErrUnexpectedEOF)
	}
	if err == nil {
		var one [1]byte
		if k, _ := io.ReadFull(r, one[:]); k > 0 {
			err = fmt.Errorf("put %q: the body is longer than %d bytes: %w", key, size, ErrBadRequest)
		}
	}
	if got := blob.Hash(hex.EncodeToString(sum.Sum(nil))); err == nil && got != want {
		err = fmt.Errorf("put %q: content hashes to %s, the caller said %s: %w", key, got.Short(), want.Short(), blob.ErrDigestMismatch)
	}
	fan.finish(err) // nil: the servers get the last byte; else a broken body
	if err == nil && made.Load() >= int64(p.Quorum) {
		lag.start() // W copies held already: the uploads are beyond W
	}
	if err != nil && !errors.Is(err, errDoomed) {
		cancel() // a data server that stopped reading must not hold us up
	}
	// A doomed write gives the uploads still under way doomedGrace to end
	// on their own, and then cuts them short: the broken body ends at
	// once those whose transport reads it; the rest (dialling, waiting
	// for "100 Continue") end with their server's answer, or with the
	// grace. Cancelled at once, they could not say why: a server down
	// whose dial had not yet failed when another answered 507 would
	// leave room as the only cause, and the write would be
	// meta.ErrNoRoom or not by the scheduler's whim. Waited for until
	// they end, one whose server hangs would hold the write until its
	// stall clock fires.
	//
	// Once W copies are made, an upload still under way that makes no
	// progress for quorumGrace is cut short (laggards), for the same
	// reason: the write does not need it. The fan-out feeds every upload
	// in step, so by then each has taken its whole body, and waits for
	// its server's answer.
	wg.Wait()
	grace.stop()
	lag.stop()
	if err == nil && caller.Err() == nil {
		// Doomed after the last Write, if an upload failed since. (A
		// caller who gave up is told so below.)
		if err = fan.doom(); err != nil {
			err = fmt.Errorf("put %q: %w", key, err)
		}
	}
	if errors.Is(err, errDoomed) {
		// Say why, as commit does when too few copies were made: with an
		// upload that failed on its own, not one stopped above because the
		// write was doomed (its error may come last).
		if why := causeOf(errs); why != nil {
			cut := slices.ContainsFunc(errs, func(e error) bool { return errors.Is(e, context.Canceled) })
			err = fmt.Errorf("%w; last failure: %w", err, beside(why, cut))
		}
	}
	if err != nil {
		return meta.Version{}, err
	}
	if err := caller.Err(); err != nil {
		return meta.Version{}, fmt.Errorf("put %q: %w", key, err) // the caller gave up
	}

	stored := slices.Clone(p.Have)
	var lastErr error
	for i, e := range errs {
		switch {
		case e == nil:
			stored = append(stored, targets[i])
		case beyond[i]:
			c.opt.Log.Info("upload beyond the write quorum made no progress; committing without it", "addr", targets[i], "blob", want.Short())
		default:
			lastErr = reported(lastErr, e)
			c.opt.Log.Warn("streamed upload failed", "addr", targets[i], "blob", want.Short(), "err", e)
		}
	}
	var chunks *blob.Chunks
	if size > blob.ChunkSize {
		ch := pieces.Chunks()
		chunks = &ch
	}
	req := meta.CommitRequest{Key: key, Hash: want, Size: size, ContentType: opt.ContentType, Chunks: chunks}
	for retries := 0; ; retries++ {
		if err := caller.Err(); err != nil {
			// The caller gave up during the copies of a retry, which
			// failed for it: meta.ErrTooFewReplicas would blame the store.
			return meta.Version{}, fmt.Errorf("put %q: %w", key, err)
		}
		req.Replicas = stored
		v, err := c.commit(ctx, p, req, lastErr)
		// A copy gone since its upload (see copyGone): the bytes are no
		// longer here to send again, but the copies that answer have
		// them. Place the blob again and have the servers it names copy
		// it from those, then commit again; as often as Put retries.
		if !copyGone(caller, err, len(stored) >= p.Quorum) || retries == maxCommitRetries {
			return v, err
		}
		c.opt.Log.Warn("commit refused: a copy is gone since its upload; copying the blob between data servers", "key", key, "blob", want.Short(), "err", err)
		if p, err = c.place(ctx, key, want, size); err != nil {
			return meta.Version{}, err
		}
		stored, lastErr = c.copyBetweenServers(ctx, p, want, size, stored)
	}
}

var errUploadEnded = errors.New("upload ended")

// fanOut writes to every pipe still open. A pipe whose upload has ended
// is dropped, not reported: the others go on, and the upload's own
// error says what happened.
//
// It passes on only the first pass bytes and holds back the rest (the
// last byte) until finish: a data server that has received a whole body
// matching the hash keeps it, so the end may reach the servers only once
// PutStream knows the source is not longer than it said. Until then any
// failure leaves every server with an incomplete body, which it drops.
//
// It stops the copy (Write fails) as soon as the write cannot succeed:
// when the caller gives up (ctx), or when so many uploads have failed
// that the copies left, with those already stored, are fewer than the
// quorum. Without that a caller who lost a data server at the first
// byte still sent, read and hashed the whole object before hearing so.
type fanOut struct {
	pipes []*io.PipeWriter
	pass  int64
	held  []byte

	ctx      context.Context // the caller's; nil: never given up
	possible int             // copies if every upload succeeds, stored ones included
	quorum   int             // 0: no check
	failed   atomic.Int64    // uploads that ended with an error
}

// errDoomed is the error of a streamed write that can no longer reach
// its quorum.
var errDoomed = fmt.Errorf("too many uploads failed: %w", meta.ErrTooFewReplicas)

func (f *fanOut) Write(p []byte) (int, error) {
	if f.ctx != nil && f.ctx.Err() != nil {
		return 0, f.ctx.Err()
	}
	if err := f.doom(); err != nil {
		return 0, err
	}
	now := p[:min(int64(len(p)), max(f.pass, 0))]
	f.pass -= int64(len(now))
	f.held = append(f.held, p[len(now):]...)
	f.send(now)
	return len(p), nil
}

// doom returns errDoomed, with the count of copies, if the copies left
// are fewer than the quorum; else nil.
func (f *fanOut) doom() error {
	if left := f.possible - int(f.failed.Load()); f.quorum > 0 && left < f.quorum {
		return fmt.Errorf("%d copies can be made, need %d: %w", left, f.quorum, errDoomed)
	}
	return nil
}

// fail counts an upload that failed, and says whether the write is
// doomed now.
func (f *fanOut) fail() bool {
	f.failed.Add(1)
	return f.doom() != nil
}

func (f *fanOut) send(p []byte) {
	if len(p) == 0 {
		return
	}
	f.pipes = slices.DeleteFunc(f.pipes, func(w *io.PipeWriter) bool {
		_, err := w.Write(p)
		return err != nil
	})
}

// finish ends every open pipe. If err is nil it sends what it held back
// and closes them with EOF; else it closes them with err, so that every
// upload fails and no data server keeps a thing.
func (f *fanOut) finish(err error) {
	if err == nil {
		f.send(f.held)
	}
	for _, w := range f.pipes {
		w.CloseWithError(err)
	}
}

// causeOf returns the failure to report (see reported) of errs that the
// doomed write did not cause itself: not a cancellation, nor the doom
// its body's pipes were closed with. If they all are, the last that is
// not nil.
func causeOf(errs []error) error {
	var cause, last error
	for _, e := range errs {
		switch {
		case e == nil:
		case !errors.Is(e, context.Canceled) && !errors.Is(e, errDoomed):
			cause = reported(cause, e)
		default:
			last = e
		}
	}
	if cause != nil {
		return cause
	}
	return last
}
