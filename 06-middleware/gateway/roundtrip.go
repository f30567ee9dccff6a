package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/gocourse/gateway/03-director/rewrite"
	"github.com/gocourse/gateway/05-balancers/balancer"
	"github.com/gocourse/gateway/06-middleware/middleware"
)

// RoundTrip sends req to one of the pool's backends, and to another when
// the attempt fails in a way retry.go says is safe to try again. No byte
// of the answer has reached the client while RoundTrip runs (the
// ReverseProxy writes only what RoundTrip returns), so a retry here is one
// the client never sees. Only a backend's 1xx (a 103 Early Hints) passes
// on at once, and it is not the answer: a client takes any number of them
// before the final one (RFC 9110, section 15.2), so after a retry it may
// have the first backend's hints and the second one's answer.
//
// Every pick is reported to the balancer exactly once: a failure to
// connect or to get an answer as Failure (passive health counts it), the
// route's deadline passing too (unless the client's body was still
// coming: see onceBody.late), a client that went away as Success (no
// penalty), an answer of any status as Success when its body is closed,
// so that in-flight counts cover the whole response, but a 101 to a
// protocol not asked for, a Failure. (A pick whose
// backend active checks took out meanwhile is not reported: see report.)
func (p *pool) RoundTrip(req *http.Request) (*http.Response, error) {
	key := p.key(req)
	body, err := replayable(req, p.cfg.Retry.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	header := req.Header
	if body != nil && header.Get("Expect") != "" {
		// The client's "Expect: 100-continue" was answered when its body
		// was read (net/http sends the 100 on the first Read). Asking the
		// backend again would make each attempt wait for the backend's
		// 100 (the direct transport leaves such requests to
		// http.Transport, which waits), and give the client a second 100,
		// the backend's, passed on.
		header = req.Header.Clone()
		header.Del("Expect")
	}
	var streamed *onceBody // a body not kept: it can go again only if nothing read it
	if body == nil && hasBody(req) {
		streamed = &onceBody{rc: req.Body, ctx: req.Context()}
	}
	deadline := p.now().Add(p.cfg.Retry.Timeout) // unless Timeout is 0: no limit but Tries
	var tried []string
	var last error
	for attempt := range p.cfg.Retry.Tries {
		if attempt > 0 && p.cfg.Retry.Timeout > 0 && !p.now().Before(deadline) {
			break
		}
		if err := req.Context().Err(); err != nil {
			// The deadline passed, or the client left, before this
			// attempt: while a slow client's body was read, say. No
			// backend has it, so none is picked, and none blamed: a
			// failure reported here would take a healthy backend out
			// (TestADeadlinePassedBeforeAnyAttemptBlamesNoBackend).
			return nil, err
		}
		pk, err := p.pick(key, tried)
		if err != nil {
			if last == nil {
				return nil, &noBackend{pool: p.cfg.Name, err: err, note: p.healthNote()}
			}
			break // no backend left to try: report the last failure
		}
		out := req.WithContext(req.Context()) // a shallow copy, to aim at pk.id
		out.Header = header
		u := *req.URL
		u.Scheme, u.Host = p.targets[pk.id].URL.Scheme, p.targets[pk.id].URL.Host
		out.URL = &u
		if body != nil {
			out.Body = io.NopCloser(bytes.NewReader(body))
			out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		} else if streamed != nil {
			out.Body = streamed
		}
		middleware.SetUpstream(req, u.Host)
		if attempt > 0 {
			p.retries.Add(1)
		}
		resp, err := p.transport.RoundTrip(out)
		if err == nil && resp.StatusCode == http.StatusSwitchingProtocols {
			if err := switchedAsAsked(req.Header, resp.Header); err != nil {
				// The ReverseProxy refuses such a 101 too, but leaves its
				// body, the upgraded connection, open for ever
				// (TestAnUpgradeToAnotherProtocolLeavesNoConnection).
				resp.Body.Close()
				p.failed(pk)
				return nil, &triesError{pool: p.cfg.Name, tried: append(tried, pk.id), err: err}
			}
		}
		if err == nil {
			return p.reporting(resp, pk), nil
		}
		last = err
		if cerr := req.Context().Err(); cerr != nil {
			// Canceled is a client that went away: not the backend's
			// fault. DeadlineExceeded is the route's timeout giving up on
			// a backend that did not answer in time: nginx counts that
			// as a failure, and so does passive health here, or a hung
			// backend behind a short route timeout would never be ejected.
			// Unless the gateway was still waiting for the client's
			// streamed body when the deadline passed: the backend cannot
			// answer a request it has not had whole, and with max_fails 1
			// each slow uploader took a healthy backend out
			// (TestASlowUploadPastTheDeadlineBlamesNoBackend).
			if errors.Is(cerr, context.DeadlineExceeded) && !streamed.late() {
				p.failed(pk)
			} else {
				p.report(pk, balancer.Success)
			}
			return nil, err
		}
		if cerr := streamed.cutShort(); cerr != nil {
			// The attempt failed because the client's body broke off,
			// not the backend: no penalty (with max_fails 1 a Failure
			// here took a healthy backend out), and the client's error.
			p.report(pk, balancer.Success)
			return nil, bodyError(cerr)
		}
		p.failed(pk)
		tried = append(tried, pk.id)
		if !retryable(req, err, body != nil || streamed.untouched()) {
			break
		}
	}
	return nil, &triesError{pool: p.cfg.Name, tried: tried, err: last}
}

// pick asks the balancer for a backend not tried yet for this request.
// A retry of a keyed request on a ring (consistent hashing, bounded
// loads: balancer.NextPicker) walks on clockwise from the key's own point
// past the backends tried, as nginx's "hash ... consistent" and HAProxy's
// consistent hashing do: it goes where the key moves once the failed
// backend leaves the ring, and warms the backend that would take the key
// over (TestAKeyedRetryGoesToTheKeysNextBackend). Before, it hashed the
// key with a suffix ("#1"), an unrelated point of the ring.
//
// A retry of a request without a key, on a balancer with a round (smooth
// weighted round robin, round robin, and the hash balancers' keyless
// path: balancer.RoundSkipper), is that round passing over the backends
// tried, as nginx's loop passes over the peers in its tried bitmap: the
// tried backend's turn is neither spent nor gained
// (TestAKeylessRetryKeepsTheTriedBackendsTurn). Asked again, with the
// pick of a tried backend thrown away, the round spent that backend's
// turn each time, and a backend failing often got more first attempts
// than its weight's share, not fewer
// (TestKeylessRetriesKeepFirstAttemptsInProportion).
//
// The other balancers (random, least connections, p2c, a keyed request
// on Maglev, a learner's own) are asked again: Maglev with the key
// suffixed ("#1", "#2", ...), a fresh slot each time, since its table has
// no order a walk could follow (see balancer.NextPicker). An empty key
// stays empty: "#1" would send every keyless retry to the one backend
// that string hashes to (TestKeylessRetriesAreSpread). A pick
// that is not used is undone (unpick), and counts for passive health
// neither way.
//
// Asking again is not enough on its own: with passive health not taking
// the failed backend out (max_fails above 1, or off), Maglev, whose keys
// mostly land on a heavy backend, returns it for most suffixes too. So
// when a few picks bring nothing new, the balancers of stage 05 are asked
// for any backend up and not tried (PickExcept), as nginx's hash falls
// back to round robin; without it, a retry was given up with a healthy
// backend untried (TestARetryReachesAnUntriedBackend).
func (p *pool) pick(key string, tried []string) (picked, error) {
	if n, ok := p.bal.(balancer.NextPicker); ok && key != "" && len(tried) > 0 {
		id, err := n.PickNext(key, func(id string) bool { return slices.Contains(tried, id) })
		if err != nil {
			return picked{}, err
		}
		return p.picked(id), nil
	}
	if s, ok := p.bal.(balancer.RoundSkipper); ok && key == "" && len(tried) > 0 {
		id, err := s.PickSkipping(func(id string) bool { return slices.Contains(tried, id) })
		if err != nil {
			return picked{}, err
		}
		return p.picked(id), nil
	}
	for i := range 2*len(p.targets) + 1 {
		k := key
		if len(tried) > 0 && key != "" {
			k = key + "#" + strconv.Itoa(len(tried)+i)
		}
		id, err := p.bal.Pick(k)
		if err != nil {
			return picked{}, err
		}
		pk := p.picked(id)
		if !slices.Contains(tried, id) {
			return pk, nil
		}
		p.unpick(pk)
	}
	if e, ok := p.bal.(excepter); ok {
		if id, err := e.PickExcept(func(id string) bool { return slices.Contains(tried, id) }); err == nil {
			return p.picked(id), nil
		}
	}
	return picked{}, errAllTried
}

// picked is a backend the balancer picked, and the epoch it was picked in
// (see setUp).
type picked struct {
	id    string
	epoch uint64
}

// picked notes the epoch of a pick. It is read just after the pick: if
// checks took the backend out and put it back in between, its Report
// counts for the backend back, as a Report did before epochs; read
// before, it would drop the Report of a pick of the backend back, and
// leave that pick in flight for ever.
func (p *pool) picked(id string) picked { return picked{id, p.epochs[id].Load()} }

// report reports how pk went, unless checks have taken its backend out
// since it was picked: the balancer forgot that pick when it removed the
// backend, and the outcome is not the backend's as it is now.
func (p *pool) report(pk picked, o balancer.Outcome) {
	if p.epochs[pk.id].Load() == pk.epoch {
		p.bal.Report(pk.id, o)
	}
}

// failed reports a failed attempt to the balancer (passive health), and
// counts it for the metrics, whatever the backend's epoch: the attempt
// failed either way.
func (p *pool) failed(pk picked) {
	p.failures[pk.id].Add(1)
	p.report(pk, balancer.Failure)
}

// unpick undoes a pick that is not used: its in-flight count only, with
// the balancers of stage 05 (balancer.locked). A learner's balancer may
// only take a Report, and a Success is the nearest to nothing it has; but
// when the pick was a probe (the backend's fail_timeout had passed since
// this request's attempt failed on it), that Success forgave the backend
// its failures though no request had reached it
// (TestAnUnusedPickForgivesNoFailure). Like report, it does nothing once
// checks have taken the backend out since the pick: the balancer forgot
// the pick then, and would take one off the count of a request sent to
// the backend back (TestAnUnusedPickOfAnEarlierEpochIsNotUndone).
func (p *pool) unpick(pk picked) {
	if p.epochs[pk.id].Load() != pk.epoch {
		return
	}
	if u, ok := p.bal.(unpicker); ok {
		u.Unpick(pk.id)
		return
	}
	p.bal.Report(pk.id, balancer.Success)
}

type unpicker interface{ Unpick(id string) }

// excepter is the balancer that can pick a backend other than some:
// every balancer of stage 05 (balancer.locked); a learner's may not.
type excepter interface {
	PickExcept(skip func(id string) bool) (string, error)
}

// healthNote says how many backends pass their active checks, for the
// error of a pool with none to pick.
func (p *pool) healthNote() string {
	if p.checker == nil {
		return ""
	}
	states := p.checker.States()
	up := 0
	for _, s := range states {
		if s.Up {
			up++
		}
	}
	return fmt.Sprintf(" (%d of %d backends pass their health checks)", up, len(states))
}

var errAllTried = errors.New("every backend has been tried")

// reporting reports Success for id when resp's body is closed. A 101
// Switching Protocols response's body is the upgraded connection, which
// the ReverseProxy needs as it is (an io.ReadWriteCloser): it is reported
// at once.
func (p *pool) reporting(resp *http.Response, pk picked) *http.Response {
	if resp.StatusCode == http.StatusSwitchingProtocols || resp.Body == nil {
		p.report(pk, balancer.Success)
		return resp
	}
	resp.Body = &reportingBody{ReadCloser: resp.Body, pool: p, pick: pk}
	return resp
}

type reportingBody struct {
	io.ReadCloser
	pool   *pool
	pick   picked
	closed atomic.Bool
}

func (b *reportingBody) Close() error {
	if b.closed.CompareAndSwap(false, true) {
		b.pool.report(b.pick, balancer.Success)
	}
	err := b.ReadCloser.Close() // gives the connection back, to be kept idle
	b.pool.release()
	return err
}

// noBackend is the error of a pool with no backend to pick. It matches
// both balancer.ErrNoBackend and rewrite.ErrNoTarget with errors.Is, so the
// client gets a 503.
type noBackend struct {
	pool string
	err  error
	note string // what the health checks say, if the pool has them
}

func (e *noBackend) Error() string        { return "pool " + e.pool + ": " + e.err.Error() + e.note }
func (e *noBackend) Unwrap() error        { return e.err }
func (e *noBackend) Is(target error) bool { return target == rewrite.ErrNoTarget }

// triesError says which backends were tried and how the last one failed.
type triesError struct {
	pool  string
	tried []string
	err   error
}

func (e *triesError) Error() string {
	hosts := make([]string, len(e.tried))
	for i, id := range e.tried {
		hosts[i] = strings.TrimPrefix(strings.TrimPrefix(id, "http://"), "https://")
	}
	return fmt.Sprintf("pool %s: tried %s: %v", e.pool, strings.Join(hosts, ", "), e.err)
}

func (e *triesError) Unwrap() error { return e.err }

// errorHandler answers a request the pool could not serve: 503 when no
// backend was available, 504 when the last one timed out, 502 otherwise,
// each with a body that says which pool and backends failed and why.
func errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	code := rewrite.Status(err)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		code = http.StatusRequestEntityTooLarge
	case errors.Is(err, errRequestBody):
		code = http.StatusBadRequest
	}
	var msg string
	switch code {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		http.Error(w, "the request body could not be read: "+bodyCause(err), code)
		return
	case rewrite.StatusClientClosedRequest:
		w.WriteHeader(code) // nobody is listening
		return
	case http.StatusServiceUnavailable:
		msg = "service unavailable: "
	case http.StatusGatewayTimeout:
		msg = "gateway timeout: "
	default:
		msg = "bad gateway: "
	}
	if errors.Is(err, context.DeadlineExceeded) && r.Context().Err() != nil {
		msg += "the route's time limit passed: "
	}
	http.Error(w, msg+err.Error(), code)
}

// bodyCause is why the client's body could not be read, said once: the
// error under the errRequestBody mark ("unexpected EOF"). The 400 used to
// print the whole chain after its own "could not be read", which said it
// twice ("... could not be read: reading the request body: unexpected
// EOF"); the layers between, such as the gateway's own connection to the
// backend a streamed body was being copied to, are of no use to the
// client either (TestACutOffBodySaysWhyOnce).
func bodyCause(err error) string {
	for errors.Is(err, errRequestBody) {
		var next error
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			errs := u.Unwrap()
			if len(errs) == 2 && errs[0] == errRequestBody { // the mark and its cause
				return errs[1].Error()
			}
			for _, e := range errs {
				if errors.Is(e, errRequestBody) {
					next = e
					break
				}
			}
		case interface{ Unwrap() error }:
			next = u.Unwrap()
		}
		if next == nil || next == errRequestBody {
			break
		}
		err = next
	}
	return err.Error()
}

// onceBody is a request body streamed to a backend rather than kept: it
// cannot be sent twice once any of it has been read. Until its first Read
// it can, whatever its size: an attempt that failed to connect never read
// it, and http.Transport's Close of the body of a request it could not
// send is not passed on, so the body is still the client's to read, for
// the next backend (TestADialErrorIsRetriedWhateverTheBody). Once read,
// Close is passed on, as the transport means it: to stop an upload.
type onceBody struct {
	rc     io.ReadCloser
	ctx    context.Context // the request's
	read   atomic.Bool
	broken atomic.Pointer[error] // the first read error but io.EOF: the client's
	waited atomic.Bool           // a Read was waiting for the client as ctx ended
}

func (b *onceBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	before := b.ctx.Err() == nil
	n, err := b.rc.Read(p)
	if before && b.ctx.Err() != nil {
		b.waited.Store(true)
	}
	if err != nil && err != io.EOF {
		b.broken.CompareAndSwap(nil, &err)
	}
	return n, err
}

// late reports whether the request's context ended while the gateway
// waited for more of the client's body: the client was slow, whatever the
// backend would have done. A backend that stops reading the body, by
// contrast, holds up a write to it, not a Read of b.
func (b *onceBody) late() bool { return b != nil && b.waited.Load() }

// cutShort returns the error with which the client's body broke off
// (a malformed chunk, a connection closed mid-body, body-timeout, a
// body limit), or nil. The transport may read b on its own goroutine,
// hence the atomic.
func (b *onceBody) cutShort() error {
	if b == nil {
		return nil
	}
	if err := b.broken.Load(); err != nil {
		return *err
	}
	return nil
}

func (b *onceBody) Close() error {
	if !b.read.Load() {
		return nil // the server closes it after the handler
	}
	return b.rc.Close()
}

// untouched reports whether b is a body nothing has read yet.
func (b *onceBody) untouched() bool { return b != nil && !b.read.Load() }

// switchedAsAsked returns an error unless a 101 Switching Protocols with
// header res switches to the protocol that the request's header req asked
// for: one printable name, the same but for case, with "upgrade" among
// the Connection tokens. The ReverseProxy checks the same before it makes
// a tunnel; this check runs first so that a refused 101 has its
// connection closed.
func switchedAsAsked(req, res http.Header) error {
	asked, got := upgradeTo(req), upgradeTo(res)
	switch {
	case got == "" || strings.IndexFunc(got, func(r rune) bool { return r < ' ' || r > '~' }) >= 0:
		return fmt.Errorf("the backend answered 101 without a protocol it may switch to (Upgrade %q, with Connection: upgrade)", got)
	case !strings.EqualFold(asked, got):
		return fmt.Errorf("the backend answered 101 switching to %q; the client asked for %q", got, asked)
	}
	return nil
}

// upgradeTo returns the protocol h's Upgrade field names when its
// Connection field has the token "upgrade"; "" otherwise.
func upgradeTo(h http.Header) string {
	for _, v := range h.Values("Connection") {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return h.Get("Upgrade")
			}
		}
	}
	return ""
}
