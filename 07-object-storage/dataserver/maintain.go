package dataserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"golang.org/x/time/rate"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// ErrNotSupported is returned by maintenance on a store that cannot list
// its blobs (a blob.Store that is not a blob.Walker).
var ErrNotSupported = errors.New("the blob store cannot list its blobs")

// Limiter paces a stream of bytes: WaitN blocks until n more bytes may
// go. A *rate.Limiter is one (a token bucket); tests pass a counter.
type Limiter interface {
	WaitN(ctx context.Context, n int) error
}

// chunk is the most a paced reader reads at once, so that a limiter's
// burst of at least chunk bytes always admits one read.
const chunk = 32 << 10

// BytesPerSecond returns a token bucket that lets n bytes a second
// through on average, with a burst of one chunk (or n, if larger).
func BytesPerSecond(n int) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(n), max(n, chunk))
}

// paced reads from r no faster than lim allows. It asks the limiter for
// every byte it returns, after reading it: the average rate is what
// matters for a disk or a network link shared with clients.
type paced struct {
	ctx context.Context
	r   io.Reader
	lim Limiter
}

func pace(ctx context.Context, r io.Reader, lim Limiter) io.Reader {
	if lim == nil {
		return r
	}
	return &paced{ctx, r, lim}
}

func (p *paced) Read(b []byte) (int, error) {
	if len(b) > chunk {
		b = b[:chunk]
	}
	n, err := p.r.Read(b)
	if n > 0 {
		if werr := p.lim.WaitN(p.ctx, n); werr != nil {
			return n, werr
		}
	}
	return n, err
}

// check re-hashes the stored copy of h at the scrub rate. It returns
// blob.ErrNotFound for a missing blob and ErrDamaged for one whose bytes
// no longer hash to its name, or cannot be read to the end (a read error
// such as EIO: a copy that cannot be read cannot be served either). Any
// other error (the limiter's, a cancelled ctx, a failed open) says
// nothing about the copy.
func (s *Server) check(ctx context.Context, h blob.Hash) (int64, error) {
	f, err := s.opt.Store.Open(h)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sum := sha256.New()
	n, err := io.Copy(sum, pace(ctx, unreadable{f}, s.opt.ScrubLimiter))
	if err != nil {
		return n, err
	}
	if hex.EncodeToString(sum.Sum(nil)) != string(h) {
		return n, fmt.Errorf("blob %s: %w", h.Short(), ErrDamaged)
	}
	return n, nil
}

// unreadable marks the errors of reading a stored copy as damage, apart
// from those of pacing the reads.
type unreadable struct{ r io.Reader }

func (u unreadable) Read(b []byte) (int, error) {
	n, err := u.r.Read(b)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: cannot be read: %w", ErrDamaged, err)
	}
	return n, err
}

// ErrDamaged is a stored blob whose bytes no longer match its hash.
var ErrDamaged = errors.New("stored blob is damaged")

// setAside takes a blob out of service: quarantined if the store can,
// removed otherwise. It acts on whatever copy is stored now: call it
// through setAsideDamaged, which checks that copy under the lock.
func (s *Server) setAside(h blob.Hash) error {
	var err error
	if q, ok := s.opt.Store.(blob.Quarantiner); ok {
		err = q.Quarantine(h)
	} else {
		err = s.opt.Store.Remove(h)
	}
	if errors.Is(err, blob.ErrNotFound) {
		err = nil // someone else got there first
	}
	return err
}

// ScrubReport says what one Scrub did.
type ScrubReport struct {
	Checked int         // blobs re-hashed
	Bytes   int64       // bytes read
	Damaged []blob.Hash // found damaged (or unreadable) and set aside in this scrub
	Errors  int         // blobs that could not be checked or set aside; the next Scrub tries again
	Unsent  int         // damaged blobs not yet reported (the metadata server was away)
}

// Scrub re-hashes every stored blob, no faster than Options.ScrubLimiter
// allows. A blob that no longer matches its hash, or cannot be read to
// the end, is set aside (so it is never served again) and reported to the
// metadata server as a bad replica, which then has it copied again from a
// good one. One blob's trouble never stops the scrub: an error is logged
// and counted, and the next blob is checked. Reports that fail are kept
// and sent again by the next Scrub, whatever else went wrong: a copy the
// metadata server still counts, but that is gone, is the thing to avoid.
func (s *Server) Scrub(ctx context.Context) (rep ScrubReport, err error) {
	w, ok := s.opt.Store.(blob.Walker)
	if !ok {
		return ScrubReport{}, ErrNotSupported
	}
	defer func() { rep.Unsent = s.sendReports(ctx) }()
	var hashes []blob.Hash
	// A walk that fails part way (a directory that cannot be read) has
	// still listed blobs: check them, and return its error at the end.
	if werr := w.Walk(func(h blob.Hash, _ int64) error { hashes = append(hashes, h); return nil }); werr != nil {
		err = fmt.Errorf("scrub: %w", werr)
	}
	for _, h := range hashes {
		n, err := s.check(ctx, h)
		rep.Bytes += n
		switch {
		case ctx.Err() != nil:
			return rep, ctx.Err()
		case errors.Is(err, ErrDamaged):
			set, serr := s.setAsideDamaged(h)
			if serr == nil && !set {
				break // replaced by a good copy since the check (an upload), or removed: nothing to report
			}
			if serr != nil {
				// Report it all the same: it must not be counted.
				s.opt.Log.Warn("scrub: could not set a damaged blob aside", "blob", h.Short(), "err", serr)
				rep.Errors++
			} else {
				s.opt.Log.Warn("scrub: damaged blob set aside", "blob", h.Short(), "err", err)
			}
			rep.Damaged = append(rep.Damaged, h)
			s.mu.Lock()
			s.unsent = append(s.unsent, h)
			s.mu.Unlock()
		case errors.Is(err, blob.ErrNotFound):
			continue // removed since the walk
		case err != nil:
			s.opt.Log.Warn("scrub: could not check a blob", "blob", h.Short(), "err", err)
			rep.Errors++
			continue
		}
		rep.Checked++
	}
	return rep, err
}

// sendReports tells the metadata server about damaged blobs, and returns
// how many it could not send.
func (s *Server) sendReports(ctx context.Context) int {
	s.mu.Lock()
	todo := slices.Clone(s.unsent)
	s.mu.Unlock()
	var sent []blob.Hash
	for _, h := range todo {
		if err := s.post(ctx, "/bad", meta.BadReplica{Hash: h, Addr: s.opt.Addr}); err != nil {
			s.opt.Log.Warn("scrub: could not report a damaged blob", "blob", h.Short(), "err", err)
			continue
		}
		sent = append(sent, h)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Take out what was sent, one entry each, by value: the list may have
	// changed while we sent (another Scrub sent some of it, or added
	// more), so positions taken before sending mean nothing now.
	for _, h := range sent {
		if i := slices.Index(s.unsent, h); i >= 0 {
			s.unsent = slices.Delete(s.unsent, i, i+1)
		}
	}
	return len(s.unsent)
}

// post sends a JSON message to the metadata server.
func (s *Server) post(ctx context.Context, path string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.opt.MetaURL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.opt.Client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("metadata server answered %s", resp.Status)
	}
	return nil
}

// SweepTemp removes temporary files of abandoned uploads older than
// Options.TempGrace, if the store keeps any (blob.Disk does).
func (s *Server) SweepTemp() (int, error) {
	sw, ok := s.opt.Store.(interface {
		SweepTemp(cutoff time.Time) (int, error)
	})
	if !ok {
		return 0, nil
	}
	return sw.SweepTemp(s.opt.Now().Add(-s.opt.TempGrace))
}

// RunMaintenance scrubs the store and sweeps temporary files on every
// tick until ctx is done. Pass time.NewTicker(d).C; tests call Scrub and
// SweepTemp themselves.
func (s *Server) RunMaintenance(ctx context.Context, ticks <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
		}
		rep, err := s.Scrub(ctx)
		if err != nil && ctx.Err() == nil {
			s.opt.Log.Warn("scrub failed", "err", err)
		}
		if len(rep.Damaged) > 0 || rep.Errors > 0 || rep.Unsent > 0 {
			s.opt.Log.Info("scrub done", "checked", rep.Checked, "bytes", rep.Bytes, "damaged", len(rep.Damaged), "errors", rep.Errors, "unsent", rep.Unsent)
		}
		if n, err := s.SweepTemp(); err != nil {
			s.opt.Log.Warn("temp sweep failed", "err", err)
		} else if n > 0 {
			s.opt.Log.Info("removed abandoned temporary files", "files", n)
		}
	}
}
