package meta

import (
	"cmp"
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/recent"
)

// A bad-copy report (POST /bad) is a word, and a word can be false: a
// reader whose network mangled the bytes (the copy on disk is fine), a
// reader with a bug, a metadata record whose size is too small (every
// copy then fails the reader's check), or anyone who can reach this
// server. Forgetting a copy on that word alone leaves an intact copy
// unrecorded until a repair round adopts it again, and reports for every
// copy of a blob make the object unreadable. So a report is checked
// before anything is forgotten: the reported data server re-hashes its
// copy (its paced verify), and the record stays if it answers that the
// copy is intact; any other outcome (damaged and set aside, missing, no
// answer) forgets it, as the report asked.
//
// The check runs after the answer (202 Accepted): a reader that reports
// a copy goes on to the next one at once, and a re-hash takes as long as
// the blob needs at the data servers' rate. A flood of reports costs at
// most maxReports checks waiting, reportCheckers running, each one verify
// at a time per data server (oneJob): a report of a copy no record names
// is answered 204 and checks nothing, a repeat of one waiting or being
// checked adds nothing, and one past the bound is refused with 503 (a
// scrub keeps its report and sends it again; a reader's copy stays
// listed, where readers verify what they read). Over time, a copy found
// intact is re-hashed at most once per reportQuiet however often it is
// reported, as long as fewer than maxIntact copies are found intact in
// that time.

// badCopy is a reported copy: a blob at the address a reader was sent to.
type badCopy struct {
	hash blob.Hash
	addr string
}

// maxReports bounds the reports waiting for their check (and being
// checked); reportCheckers, the checks run at once.
const (
	maxReports     = 1024
	reportCheckers = 4
)

// reportQuiet is how long a copy a check found intact is not re-hashed
// for another report: its check is a HEAD, which forgets a copy no
// longer there (a scrub's report of a copy it set aside) and keeps one
// that is, of the size the re-hash found. A copy of another size has
// changed since (truncated, say), and is re-hashed at once: the HEAD
// used to keep it whatever its size. So a client that reports the same copy again and again costs
// its data server one re-hash per interval, not one per report. A copy
// that rots within the interval stays recorded until the data server's
// scrub re-hashes it (every hour by default), sets it aside and reports
// it, or until the interval ends and a reader's report re-hashes it;
// meanwhile readers find it bad and read another copy, as they verify
// what they read. Ten minutes keeps a reader's true report waiting at
// most that long and costs a hostile client's reports at most six
// re-hashes of a copy an hour, a few times the scrub's one.
//
// maxIntact bounds how many such copies are remembered; the oldest is
// forgotten first, and a report of it is re-hashed again. So the bound
// above holds for a client that names fewer distinct copies: one that
// reports maxIntact other intact copies (small ones, cheap to re-hash)
// between two reports of a large one gets the large one re-hashed each
// time, as before reportQuiet, at the pace every check keeps
// (reportCheckers, one verify at a time per data server).
const (
	reportQuiet = 10 * time.Minute
	maxIntact   = 4096
)

// maxLooks bounds how often one check looks at a copy at the reported
// address (vouches): again each time a copy is recorded there while it
// looks (supersede), since that record's HEAD cannot tell a new copy
// from the damaged one. Only a copy that answers a HEAD can be recorded,
// and the verify sets a damaged one aside, so a second look finds either
// a new copy, which it re-hashes, or nothing; the bound holds only if
// records keep coming while a server fails its verifies, and the copy is
// then kept, as readers verify what they read.
const maxLooks = 3

// reportQueue holds the reports waiting for their check.
type reportQueue struct {
	mu      sync.Mutex
	queue   []badCopy // waiting, oldest first
	running int       // checkers running
	idle    sync.Cond // broadcast when running drops to 0
	closed  bool      // Close was called: no report is taken or checked

	// ctx is the checks' context, cancelled by Close: a check cut short
	// forgets nothing.
	ctx  context.Context
	stop context.CancelFunc

	// held has every report waiting or being checked (a repeat adds
	// nothing), true once a copy stored at the reported address has been
	// recorded since (supersede): the report may be about the copy that
	// was there before, so its check does not forget what it found but
	// looks again at the copy there now.
	held map[badCopy]bool

	// intact has the copies a check re-hashed intact lately, with the
	// size their HEAD gave then: a report of one within reportQuiet gets
	// a HEAD, not a re-hash, if the copy is still that size. It holds at
	// most maxIntact, the oldest forgotten first.
	intact *recent.Map[badCopy, int64]

	// drop keeps a check's "forget" apart from every "record" of a copy
	// (a commit, a read repair, a repair round's copy): a check looks at
	// held and forgets a copy holding it, and a record marks held holding
	// it for reading, before it records its copies (recording). Either
	// the forget comes first and the record names the copy again, or the
	// check sees the mark, forgets nothing, and looks again.
	drop sync.RWMutex
}

// queueReport adds c to the reports to check, and starts a checker if
// fewer than reportCheckers run. It reports false if too many wait.
func (s *Server) queueReport(c badCopy) bool {
	q := &s.reports
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	if _, ok := q.held[c]; ok {
		return true
	}
	if len(q.held) >= cmp.Or(s.hooks.maxReports, maxReports) {
		return false
	}
	q.held[c] = false
	q.queue = append(q.queue, c)
	if q.running < reportCheckers {
		q.running++
		go s.checkReports()
	}
	return true
}

// checkReports checks queued reports until none is left.
func (s *Server) checkReports() {
	q := &s.reports
	q.mu.Lock()
	for len(q.queue) > 0 {
		c := q.queue[0]
		q.queue = q.queue[1:]
		q.mu.Unlock()
		s.checkReport(q.ctx, c)
		q.mu.Lock()
		delete(q.held, c)
	}
	q.running--
	if q.running == 0 {
		q.idle.Broadcast()
	}
	q.mu.Unlock()
}

// WaitReports returns once every bad-copy report received before the
// call has been checked and acted on. Tests call it before they look at
// the records; a program need not.
func (s *Server) WaitReports() {
	q := &s.reports
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.running > 0 {
		q.idle.Wait()
	}
}

// Close stops the checks of bad-copy reports and returns once none
// runs: those waiting are dropped, and those running are cancelled and
// forget nothing. A report is then refused (503). The copies stay
// recorded, where readers verify what they read, a scrub's report names a
// copy set aside that the next repair round forgets, and a reader reports
// again when it reads it. Call it before the data servers stop, or a
// check that no longer reaches them forgets every copy it checks, and
// before the Namespace is closed, which Close leaves open.
func (s *Server) Close() {
	q := &s.reports
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	for _, c := range q.queue {
		delete(q.held, c)
	}
	q.queue = nil
	q.stop()
	for q.running > 0 {
		q.idle.Wait()
	}
}

// doubted reports whether a report of h's copy at addr waits for its
// check: that copy is not offered to a writer as held (write), so a read
// repair sends its verified bytes there.
func (s *Server) doubted(h blob.Hash, addr string) bool {
	q := &s.reports
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.held[badCopy{h, addr}]
	return ok
}

// supersede marks the report of h's copy at addr, if one waits, as
// perhaps answered by a new copy there: its check looks again before it
// forgets anything. Call it with reports.drop held (recording).
func (s *Server) supersede(h blob.Hash, addr string) {
	q := &s.reports
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.held[badCopy{h, addr}]; ok {
		q.held[badCopy{h, addr}] = true
	}
}

// recording runs record, which records copies of h on the data servers
// ids (a commit, a read repair, a repair round's copy: each has just
// confirmed its copies), so that no check forgets them for what it found
// before they were stored: a waiting report of a copy at one of their
// addresses is marked first (supersede), and its check looks at the copy
// there again. The mark does not settle the report: a confirming HEAD is
// answered by the damaged copy too. A writer of the same content stores
// a new copy where a report waits, as a read repair does, since the
// placement does not offer that copy as held (doubted).
func (s *Server) recording(h blob.Hash, ids []string, record func() error) error {
	q := &s.reports
	q.drop.RLock()
	defer q.drop.RUnlock()
	for _, id := range ids {
		if addr, ok := s.addr(id); ok {
			s.supersede(h, addr)
		}
	}
	return record()
}

// addReplicas records that the data servers ids hold h too (recording).
func (s *Server) addReplicas(h blob.Hash, ids []string) error {
	return s.recording(h, ids, func() error { return s.ns.AddReplicas(h, ids) })
}

// reported returns the IDs of the recorded copies of h that readers are
// sent to at addr. The report names an address; the namespace keeps IDs.
// After an address changes hands, the ID of the server that had it and
// the ID of the one that has it now can both be there, and the registry
// knows only the second.
func (s *Server) reported(h blob.Hash, addr string) ([]string, error) {
	ids, err := s.ns.Replicas(h)
	if err != nil {
		return nil, err
	}
	var at []string
	for _, id := range ids {
		if a, ok := s.addr(id); ok && a == addr {
			at = append(at, id)
		}
	}
	return at, nil
}

// checkReport forgets each copy c names unless its data server vouches
// for it: a HEAD finds it, with its size, and a verify re-hashes it
// intact (a HEAD only, if a check found it intact, of the size the HEAD
// gives, within reportQuiet). Each call has its deadline; none waits for
// a reader.
func (s *Server) checkReport(ctx context.Context, c badCopy) {
	ids, err := s.reported(c.hash, c.addr)
	if err != nil {
		s.opt.Log.Warn("bad replica report: cannot read the records", "blob", c.hash.Short(), "err", err)
		return
	}
	for _, id := range ids {
		if !s.checkCopy(ctx, c, id) {
			return // stopped (Close): no answer is not "no copy"
		}
	}
}

// checkCopy checks copy id of c's blob, and looks again (up to maxLooks
// times) while copies are recorded at c's address during a look. It
// reports false if ctx ended the check.
func (s *Server) checkCopy(ctx context.Context, c badCopy, id string) bool {
	for range maxLooks {
		v := s.vouches(ctx, id, c)
		if ctx.Err() != nil {
			return false
		}
		if v.intact && !v.hashed {
			// Not "verifies": nothing was re-hashed.
			s.opt.Log.Info("bad replica report not re-hashed: the copy was found intact lately and is still there, of the same size; kept", "addr", c.addr, "blob", c.hash.Short())
			return true
		}
		if v.intact {
			s.foundIntact(c, v.size)
			s.opt.Log.Info("bad replica report not confirmed: the copy verifies; kept", "addr", c.addr, "blob", c.hash.Short())
			return true
		}
		dropped, again, err := s.forgetReported(c, id)
		switch {
		case err != nil:
			s.opt.Log.Warn("bad replica report: could not forget the copy", "addr", c.addr, "blob", c.hash.Short(), "err", err)
		case dropped:
			s.opt.Log.Warn("bad replica report confirmed; copy forgotten", "addr", c.addr, "blob", c.hash.Short(), "why", v.why)
		}
		if !again {
			return true
		}
	}
	s.opt.Log.Warn("bad replica report: copies keep being recorded at the address while it is checked; kept", "addr", c.addr, "blob", c.hash.Short())
	return true
}

// recentlyIntact returns the size c's HEAD gave when a check re-hashed
// it intact, if one did within reportQuiet.
func (s *Server) recentlyIntact(c badCopy) (size int64, ok bool) {
	q := &s.reports
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.intact.Get(c, s.opt.Now())
}

// foundIntact remembers that c was re-hashed intact now, size bytes long.
func (s *Server) foundIntact(c badCopy, size int64) {
	q := &s.reports
	q.mu.Lock()
	defer q.mu.Unlock()
	q.intact.Put(c, size, s.opt.Now())
}

// forgetReported forgets copy id of c's blob, unless a copy has been
// recorded at c's address since the report or the last look
// (supersede): then it reports again, and the check looks at the copy
// there now. A record's HEAD is answered by a damaged copy as well as by
// a new one, so the record alone (anyone may send POST /replicas) does
// not settle the report. A copy forgotten is no longer one found intact:
// a copy stored there later is re-hashed on its first report
// (TestACopyMadeWhereOneWasForgottenIsReHashed).
func (s *Server) forgetReported(c badCopy, id string) (dropped, again bool, err error) {
	if s.hooks.forget != nil {
		s.hooks.forget()
	}
	q := &s.reports
	q.drop.Lock()
	defer q.drop.Unlock()
	q.mu.Lock()
	superseded := q.held[c]
	if superseded {
		q.held[c] = false
	} else {
		q.intact.Delete(c)
	}
	q.mu.Unlock()
	if superseded {
		return false, true, nil
	}
	return true, false, s.ns.DropReplica(c.hash, id)
}

// vouching is what vouches found: whether the copy is intact, whether
// it was re-hashed for that (not if a check re-hashed it intact within
// reportQuiet and it is still the size it was then), the size its HEAD
// gave, and if it is not intact, what was found instead.
type vouching struct {
	intact, hashed bool
	size           int64
	why            string
}

// vouches reports whether data server id holds an intact copy of c's
// blob at c's address: a plain HEAD (it moves no stamp) for the copy's
// size, which the verify's deadline grows with, then the verify, unless
// a check re-hashed the copy intact within reportQuiet and the HEAD
// gives the size it gave then. A copy of another size has changed since
// (a truncated file is still there for a HEAD), and is re-hashed.
func (s *Server) vouches(ctx context.Context, id string, c badCopy) vouching {
	hctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(hctx, http.MethodHead, c.addr+"/blobs/"+string(c.hash), nil)
	if err != nil {
		return vouching{why: err.Error()}
	}
	resp, err := s.do(req, id)
	if err != nil {
		return vouching{why: err.Error()}
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return vouching{why: "HEAD: " + resp.Status} // 404: set aside by a scrub, or gone
	}
	size := max(resp.ContentLength, 0)
	if was, ok := s.recentlyIntact(c); ok && resp.ContentLength == was {
		return vouching{intact: true, size: size}
	}
	ok, _, err := s.verifyCopy(ctx, id, c.addr, c.hash, size)
	switch {
	case err != nil:
		return vouching{size: size, why: err.Error()}
	case !ok:
		return vouching{size: size, why: "verify: damaged (set aside) or missing"}
	}
	return vouching{intact: true, hashed: true, size: size}
}
