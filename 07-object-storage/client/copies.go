package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// copyGone reports whether a commit that named at least W copies (sent)
// failed for a copy gone since its upload: the metadata server refused
// it with meta.ErrTooFewReplicas, although every copy it named was
// stored. A rolling restart does that, or a data server killed between
// the upload and the commit. Only such a refusal is worth a second try,
// and only while the caller waits: a commit whose answer was lost may
// have been recorded, and a second would make a second version.
func copyGone(ctx context.Context, err error, sent bool) bool {
	return err != nil && sent && errors.Is(err, meta.ErrTooFewReplicas) && ctx.Err() == nil
}

// copyBetweenServers has the targets of placement p copy blob h (of
// size bytes) from a server that holds it, until p.Replicas servers hold
// it or every target was asked, and returns the servers that hold it and
// the failure to report if there are too few (reported). The servers
// that hold it are p.Have and those of had, the servers this write
// stored it on, that still answer for it with its size: the placement
// offers only copies a commit recorded, and this blob has none yet. The
// copy is a data server's POST /pull, the request repair sends: the
// bytes go from data server to data server, checked against h by the
// one that stores them. PutStream uses it when a copy went away before
// its commit: it has no bytes left to send again, but the copies that
// remain have them.
func (c *Client) copyBetweenServers(ctx context.Context, p meta.Placement, h blob.Hash, size int64, had []string) ([]string, error) {
	holders := slices.Clone(p.Have)
	for _, addr := range had {
		if !slices.Contains(holders, addr) && c.holds(ctx, addr, h, size) {
			holders = append(holders, addr)
		}
	}
	if len(holders) == 0 {
		return nil, fmt.Errorf("no copy of blob %s answers to copy from", h.Short())
	}
	stored := slices.Clone(holders)
	var lastErr error
	for _, target := range p.Targets {
		if len(stored) >= p.Replicas {
			break
		}
		if slices.Contains(stored, target) {
			continue
		}
		// Each source once: a 502 says the source did not serve the
		// blob (or the target could not fetch it), a 422 that its bytes
		// do not match the hash (a damaged copy, which a data server's
		// GET does not check); anything else is the target's answer, and
		// the next target is asked.
		for _, from := range holders {
			err := c.pull(ctx, target, from, h, size)
			if err == nil {
				stored = append(stored, target)
				break
			}
			lastErr = reported(lastErr, err)
			c.opt.Log.Warn("copy between data servers failed", "to", target, "from", from, "blob", h.Short(), "err", err)
			var de *dataError
			if !errors.As(err, &de) || (de.Code != http.StatusBadGateway && de.Code != http.StatusUnprocessableEntity) {
				break
			}
		}
	}
	return stored, lastErr
}

// holds reports whether the data server at addr answers a HEAD for blob
// h with its size: it has a whole copy (a data server never shows a
// partial one). A server that does not answer within StallTimeout does
// not hold it (watch): the copy went away, or its server hangs, and
// either way the write must not wait for it until its caller gives up.
func (c *Client) holds(ctx context.Context, addr string, h blob.Hash, size int64) bool {
	w := c.watch(ctx, addr)
	defer w.end(nil)
	req, err := http.NewRequestWithContext(w.ctx, http.MethodHead, addr+"/blobs/"+string(h), nil)
	if err != nil {
		return false
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK && resp.ContentLength == size
}

// pull asks the data server at target to copy blob h (of size bytes)
// from the one at from. The answer comes only once the copy is done,
// paced by the data server, so no byte moves to show it is alive: it is
// given up on after pullTimeout, or a data server that hangs (or a
// source that stalls) would hold the write until its caller gives up.
func (c *Client) pull(ctx context.Context, target, from string, h blob.Hash, size int64) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if c.opt.StallTimeout >= 0 {
		d := pullTimeout(size, c.opt.CopyRate, c.opt.StallTimeout)
		stalled := fmt.Errorf("%w: %s, copying %d bytes, for %v", ErrStalled, target, size, d)
		t := c.opt.AfterFunc(d, func() { cancel(stalled) })
		defer t.Stop() // the request fails with its cause, stalled
	}
	body, _ := json.Marshal(meta.Pull{Hash: h, From: from})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target+"/pull", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("data server %s: %w", target, dataStatusError(resp))
	}
	return nil
}

// pullTimeout is how long a pull of size bytes may take: stall, plus
// twice what the bytes need at rate bytes a second (a repair sharing the
// data server's pace may slow it), capped at the longest Duration.
func pullTimeout(size, rate int64, stall time.Duration) time.Duration {
	d := 2 * float64(size) / float64(rate) * float64(time.Second)
	if d >= float64(math.MaxInt64-stall) {
		return math.MaxInt64
	}
	return stall + time.Duration(d)
}
