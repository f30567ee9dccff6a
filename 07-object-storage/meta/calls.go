package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

// The requests the metadata server's maintenance sends to data servers.
// Each has a deadline: a data server that hangs must not stall a repair
// round or, worse, garbage collection, which writes wait for.

// CloseIdleConnections closes the connections the server's client keeps
// open to the data servers between calls (a write's confirmations, a
// repair's copies). Call it once the server has stopped: the data
// servers may run on, and would otherwise hold each connection until the
// transport's idle timeout.
func (s *Server) CloseIdleConnections() { s.opt.Client.CloseIdleConnections() }

// callTimeout bounds a request whose work does not grow with a blob's
// size (a HEAD, an inventory).
const callTimeout = 30 * time.Second

// quickTimeout bounds the HEADs and DELETEs made while writes wait: a
// commit's confirmation (under GC's lock, read side) and GC's deletions
// (write side). Both are a stat or an unlink on the data server; one
// that hangs must not stall every write for long.
const quickTimeout = 5 * time.Second

// transferTimeout bounds a request that makes a data server read or copy
// size bytes paced at rate bytes a second (a pull, a verify): twice the
// time the bytes need at that rate, so that a scrub sharing the token
// bucket cannot make it fail, plus callTimeout. A fixed deadline would
// fail the same large copy on every round, for ever. A time past what a
// Duration holds (a few GiB at -scrub-rate 1) is the longest Duration:
// converted as it is, a float beyond int64 is implementation-defined in
// Go, and negative on amd64, a deadline passed before the request starts.
func transferTimeout(size, rate int64) time.Duration {
	if rate <= 0 {
		return callTimeout
	}
	d := 2 * float64(size) / float64(rate) * float64(time.Second)
	if d >= float64(math.MaxInt64-callTimeout) {
		return math.MaxInt64
	}
	return callTimeout + time.Duration(d)
}

// errWrongServer is an answer from a data server other than the one the
// request was meant for: the address it was sent to has changed hands
// since the registry's last heartbeat from there. It is treated as no
// answer: what it says is not recorded, nor acted on, under the ID meant.
var errWrongServer = errors.New("answered by another data server")

// do sends req to data server id and returns its answer, or
// errWrongServer if the answer names another server (ServerIDHeader).
// Every request of the metadata server to a data server goes through
// here: the answers are recorded by ID, the requests go to addresses.
// The request names id too, so that another server refuses it before
// acting on it (a DELETE acts before its answer can be checked).
func (s *Server) do(req *http.Request, id string) (*http.Response, error) {
	if id != "" {
		req.Header.Set(ServerIDHeader, id)
	}
	resp, err := s.opt.Client.Do(req)
	if err != nil {
		return nil, err
	}
	if got := resp.Header.Get(ServerIDHeader); got != "" && got != id {
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: %w: %s, not %s", req.Method, req.URL.Redacted(), errWrongServer, got, id)
	}
	return resp, nil
}

func (s *Server) sendWithin(ctx context.Context, timeout time.Duration, id, method, url string, body any) (int, string, error) {
	code, _, msg, err := s.exchange(ctx, timeout, id, method, url, body)
	return code, msg, err
}

// exchange is sendWithin that also returns the answer's header.
func (s *Server) exchange(ctx context.Context, timeout time.Duration, id, method, url string, body any) (int, http.Header, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, nil, "", err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, nil, "", err
	}
	resp, err := s.do(req, id)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<12))
	return resp.StatusCode, resp.Header, strings.TrimSpace(string(msg)), nil
}

// inventories asks every live data server what it holds, leaving out
// any name that is not a hash. A server that does not answer is left
// out; one whose store cannot list its blobs (501) is left out too, and
// named in cannotList.
func (s *Server) inventories(ctx context.Context, live []Heartbeat) (all map[string]map[blob.Hash]Stored, cannotList map[string]bool) {
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	all, cannotList = map[string]map[blob.Hash]Stored{}, map[string]bool{}
	for _, hb := range live {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, callTimeout)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, hb.Addr+"/blobs", nil)
			if err != nil {
				return
			}
			resp, err := s.do(req, hb.ID)
			if err != nil {
				s.opt.Log.Warn("no inventory", "server", hb.ID, "err", err)
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode == http.StatusNotImplemented {
				mu.Lock()
				cannotList[hb.ID] = true
				mu.Unlock()
				return
			}
			var list []Stored
			if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&list) != nil {
				s.opt.Log.Warn("no inventory", "server", hb.ID, "status", resp.Status)
				return
			}
			// A name that is not a hash (a store of a learner's own, a
			// stray file) is left out: it cannot be recorded as garbage
			// (an empty one fails the whole GC) and must not become the
			// path of a DELETE.
			inv := make(map[blob.Hash]Stored, len(list))
			bad := 0
			for _, st := range list {
				if _, err := blob.ParseHash(string(st.Hash)); err != nil {
					bad++
					continue
				}
				inv[st.Hash] = st
			}
			if bad > 0 {
				s.opt.Log.Warn("inventory lists names that are not hashes; left out", "server", hb.ID, "count", bad)
			}
			mu.Lock()
			all[hb.ID] = inv
			mu.Unlock()
		})
	}
	wg.Wait()
	return all, cannotList
}

// verifyCopy asks a data server to re-hash its copy of size bytes: true
// if intact, with the stamp the verify moved the copy to (nil if the
// server names none). A damaged copy is set aside by the data server.
func (s *Server) verifyCopy(ctx context.Context, id, addr string, h blob.Hash, size int64) (bool, *int64, error) {
	defer s.oneJob(addr)()
	code, header, msg, err := s.exchange(ctx, transferTimeout(size, s.opt.RepairRate), id, http.MethodPost, addr+"/blobs/"+string(h)+"/verify", nil)
	switch {
	case err != nil:
		return false, nil, err
	case code == http.StatusOK:
		return true, stampIn(header), nil
	case code == http.StatusConflict, code == http.StatusNotFound:
		return false, nil, nil
	default:
		return false, nil, fmt.Errorf("verify on %s: %d %s", addr, code, msg)
	}
}

// stampIn reads the stamp a data server named in its answer: nil if it
// named none (its store keeps no stamps, or it predates stamps on
// answers) or one that is not a number. A DELETE fenced by no stamp is
// sent plain, as before stamps.
func stampIn(header http.Header) *int64 {
	v := header.Get(StampHeader)
	if v == "" {
		return nil
	}
	stamp, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil
	}
	return &stamp
}

// errKept is a data server's refusal to delete a copy whose stamp moved
// since the caller last saw it: it was used again, by a write or a repair.
var errKept = errors.New("the copy was used again since its stamp was read; kept")

// errGone is a data server's answer that it holds no copy to delete
// (404): another DELETE came first, or the copy was set aside as
// damaged since it was listed. Nothing is left to remove, and nothing
// was removed: the caller does not count it.
var errGone = errors.New("no copy to delete; already gone")

// deleteCopy removes a data server's copy; one already gone is errGone.
// A stamp (the last one the caller saw: an inventory's, or a verify's;
// nil for none) makes the DELETE conditional: errKept if the copy's
// stamp has moved since.
func (s *Server) deleteCopy(ctx context.Context, id, addr string, h blob.Hash, stamp *int64) error {
	ctx, cancel := context.WithTimeout(ctx, quickTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, addr+"/blobs/"+string(h), nil)
	if err != nil {
		return err
	}
	if stamp != nil {
		req.Header.Set(StampHeader, strconv.FormatInt(*stamp, 10))
	}
	resp, err := s.do(req, id)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNoContent:
		return nil
	case http.StatusNotFound:
		return errGone
	case http.StatusPreconditionFailed:
		return errKept
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<12))
	return fmt.Errorf("delete on %s: %d %s", addr, resp.StatusCode, strings.TrimSpace(string(msg)))
}

// oneJob waits until the data server at addr runs no other pull or
// verify for this metadata server, and returns the function that frees
// it. The server paces its copies and re-hashes through one token bucket
// each: jobs run side by side would share it, each taking several times
// as long as its deadline (transferTimeout) allows.
func (s *Server) oneJob(addr string) (done func()) {
	s.mu.Lock()
	m, ok := s.jobs[addr]
	if !ok {
		m = &sync.Mutex{}
		s.jobs[addr] = m
	}
	s.mu.Unlock()
	if !m.TryLock() {
		s.hooks.jobWaits(addr)
		m.Lock()
	}
	return m.Unlock
}
