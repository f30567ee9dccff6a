package middleware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// deadlines records the read deadlines an idleBody sets.
type deadlines []time.Time

func (d *deadlines) set(t time.Time) error { *d = append(*d, t); return nil }

// Every Read gets a deadline of its own, now + after, and puts back the
// server's when it returns: none is left to fire between reads, or after
// the last one. At EOF the deadline is cleared, as net/http clears it for
// its own read of the connection, which begins then.
func TestEveryBodyReadHasItsOwnDeadline(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var got deadlines
	b := &idleBody{http1: true, r: io.NopCloser(strings.NewReader("abcdef")), after: time.Minute, now: func() time.Time { return t0 }, setDeadline: got.set}
	_, err := b.Read(make([]byte, 4))
	assert.NoError(t, err)
	assert.Equal(t, deadlines{t0.Add(time.Minute), {}}, got)

	got = nil
	_, _ = b.Read(make([]byte, 4)) // "ef"
	_, err = b.Read(make([]byte, 4))
	assert.Equal(t, io.EOF, err)
	assert.Equal(t, deadlines{t0.Add(time.Minute), {}, t0.Add(time.Minute), {}}, got, "cleared at EOF")
}

// The deadline follows the clock: it bounds each pause, not the upload,
// which may go on for longer than after in all.
func TestTheDeadlineBoundsThePauseNotTheUpload(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var got deadlines
	b := &idleBody{http1: true, r: io.NopCloser(strings.NewReader("abc")), after: time.Minute, now: func() time.Time { now = now.Add(50 * time.Second); return now }, setDeadline: got.set}
	for range 3 {
		_, err := b.Read(make([]byte, 1))
		assert.NoError(t, err)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, deadlines{start.Add(110 * time.Second), {}, start.Add(160 * time.Second), {}, start.Add(210 * time.Second), {}}, got)
}

// With the server's ReadTimeout, the whole request's deadline comes
// first when it is nearer, and is what each Read puts back.
func TestTheServersDeadlineStays(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	whole := t0.Add(10 * time.Second)
	var got deadlines
	b := &idleBody{http1: true, r: io.NopCloser(strings.NewReader("abc")), after: time.Minute, now: func() time.Time { return t0 }, setDeadline: got.set, whole: whole}
	_, err := b.Read(make([]byte, 1))
	assert.NoError(t, err)
	assert.Equal(t, deadlines{whole, whole}, got)

	got = nil
	_, err = io.ReadAll(b)
	assert.NoError(t, err)
	assert.Equal(t, deadlines{whole, whole, whole, {}}, got, "at EOF cleared, not the server's put back")
}

// A Read that times out returns ErrBodyTimeout, which the layer answers
// with 408; any other error, and EOF, is passed on as it is.
func TestATimedOutReadIsErrBodyTimeout(t *testing.T) {
	var got deadlines
	timeout := fmt.Errorf("read tcp: %w", os.ErrDeadlineExceeded)
	b := &idleBody{http1: true, r: io.NopCloser(errBodyReader{timeout}), after: time.Minute, now: time.Now, setDeadline: got.set}
	_, err := b.Read(make([]byte, 8))
	assert.ErrorIs(t, err, ErrBodyTimeout)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.True(t, b.timedOut())

	other := errors.New("connection reset")
	b = &idleBody{http1: true, r: io.NopCloser(errBodyReader{other}), after: time.Minute, now: time.Now, setDeadline: got.set}
	_, err = b.Read(make([]byte, 8))
	assert.ErrorIs(t, err, other)
	assert.NotErrorIs(t, err, ErrBodyTimeout)
	assert.False(t, b.timedOut())
}

type errBodyReader struct{ err error }

func (r errBodyReader) Read([]byte) (int, error) { return 0, r.err }

// Once a Read has returned EOF, later Reads (http.Transport makes one, to
// be sure) touch no deadline: net/http's own read, begun at EOF with none,
// would otherwise fail when it passed and cancel the request mid-answer.
func TestAReadAfterEOFTouchesNoDeadline(t *testing.T) {
	var got deadlines
	b := &idleBody{http1: true, r: io.NopCloser(strings.NewReader("ab")), after: time.Minute, now: time.Now, setDeadline: got.set}
	_, err := io.ReadAll(b)
	assert.NoError(t, err)
	got = nil
	_, err = b.Read(make([]byte, 1))
	assert.Equal(t, io.EOF, err)
	assert.Empty(t, got)
}

// After the handler returned, a Read (a transport still sending the body)
// touches no deadline, and a Read that was waiting puts none back: the
// server may have set those of the connection's next request.
func TestReadsAfterTheHandlerTouchNoDeadline(t *testing.T) {
	var got deadlines
	src := &stepBodyReader{waiting: make(chan struct{}), next: make(chan []byte)}
	b := &idleBody{http1: true, r: io.NopCloser(src), after: time.Minute, now: time.Now, setDeadline: got.set}
	n := make(chan int)
	go func() {
		k, _ := b.Read(make([]byte, 8))
		n <- k
	}()
	<-src.waiting
	b.handlerDone()
	src.next <- []byte("abc")
	assert.Equal(t, 3, <-n)
	assert.Len(t, got, 1, "its own deadline, and nothing put back")

	got = nil
	go func() {
		k, _ := b.Read(make([]byte, 8))
		n <- k
	}()
	<-src.waiting
	src.next <- []byte("de")
	assert.Equal(t, 2, <-n)
	assert.Empty(t, got)
}

// stepBodyReader says on waiting when a Read starts, then gives what the
// test sends on next (EOF once next is closed).
type stepBodyReader struct {
	waiting chan struct{}
	next    chan []byte
}

func (r *stepBodyReader) Read(b []byte) (int, error) {
	r.waiting <- struct{}{}
	p, ok := <-r.next
	if !ok {
		return 0, io.EOF
	}
	return copy(b, p), nil
}

// A Read sets its deadlines holding mu, which handlerDone takes: no
// deadline can be set once handlerDone has returned (a Read that checked
// before and set after would overwrite the next request's deadlines).
func TestDeadlinesAreSetUnderTheLock(t *testing.T) {
	var b *idleBody
	var sets, unlocked int
	b = &idleBody{http1: true, r: io.NopCloser(strings.NewReader("abc")), after: time.Minute, now: time.Now, setDeadline: func(time.Time) error {
		sets++
		if b.mu.TryLock() {
			b.mu.Unlock()
			unlocked++
		}
		return nil
	}}
	_, err := io.ReadAll(b)
	assert.NoError(t, err)
	assert.Equal(t, 4, sets, "set and put back, then set and cleared at EOF")
	assert.Zero(t, unlocked, "deadlines set without the lock")
}

// A Read waiting when the body is closed keeps its own deadline, and
// when it ends sets a new one, instead of putting the server's back
// (none, with ReadTimeout off): the Close, which net/http's body makes
// wait for the Read, is about to read the rest.
func TestAReadEndingDuringCloseSetsADeadline(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var got deadlines
	src := &stepBodyReader{waiting: make(chan struct{}), next: make(chan []byte)}
	body := &waitingCloser{stepBodyReader: src, closing: make(chan struct{})}
	b := &idleBody{http1: true, r: body, after: time.Minute, now: func() time.Time { return t0 }, setDeadline: got.set}
	n := make(chan int)
	go func() {
		body.mu.Lock() // as net/http's body, held for the Read
		defer body.mu.Unlock()
		k, _ := b.Read(make([]byte, 8))
		n <- k
	}()
	<-src.waiting
	closed := make(chan error)
	go func() { closed <- b.Close() }()
	<-body.closing // the layer has armed, and net/http's Close waits for the Read
	src.next <- []byte("abc")
	assert.Equal(t, 3, <-n)
	assert.NoError(t, <-closed)
	assert.Equal(t, deadlines{t0.Add(time.Minute), t0.Add(time.Minute), {}}, got, "its own, one for the Close's read, cleared once closed")
}

// waitingCloser's Close says on closing that it was called, then waits
// for a Read in progress, as net/http's body does (both take its mutex).
type waitingCloser struct {
	*stepBodyReader
	mu      sync.Mutex
	closing chan struct{}
}

func (c *waitingCloser) Close() error {
	close(c.closing)
	c.mu.Lock()
	defer c.mu.Unlock()
	return nil
}

// An answer to a body the handler has not finished says "Connection:
// close", so that net/http sends it at once instead of first reading the
// rest; and sets no deadline. Also for a client that expected "100
// Continue" (net/http closes by itself, unless a layer further out
// replaced the body). Not for a finished body, full duplex, or HTTP/2.
func TestAnsweringAnUnfinishedBodySaysClose(t *testing.T) {
	for name, tc := range map[string]struct {
		body  func() *idleBody
		close bool
	}{
		"unfinished": {func() *idleBody { return &idleBody{http1: true} }, true},
		"read to its end": {func() *idleBody {
			b := &idleBody{http1: true, r: io.NopCloser(strings.NewReader("ab")), now: time.Now, setDeadline: func(time.Time) error { return nil }}
			io.ReadAll(b)
			return b
		}, false},
		"expects 100-continue": {func() *idleBody { return &idleBody{http1: true, mayContinue: true} }, true},
		"full duplex":          {func() *idleBody { return &idleBody{http1: true, fullDuplex: true} }, false},
		"HTTP/2":               {func() *idleBody { return &idleBody{} }, false},
	} {
		b := tc.body()
		var got deadlines
		b.setDeadline = got.set
		h := http.Header{}
		b.answering(h)
		assert.Equal(t, tc.close, h.Get("Connection") == "close", name)
		assert.Empty(t, got, name)
	}
}

// When the handler returns, net/http closes the body, reading what is
// left: an unfinished body gets a deadline for that. One of declared
// length is asked first whether it has ended (read further out): then
// it gets none, for net/http's own read of the connection has begun, and
// asking loses no byte. A chunked one is not asked (its answer could
// wait for the next chunk's header) and is armed.
func TestTheHandlersReturnArmsOnlyAnUnfinishedBody(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var got deadlines
	src := strings.NewReader("ab")
	b := &idleBody{http1: true, declared: true, r: io.NopCloser(src), after: time.Minute, now: func() time.Time { return t0 }, setDeadline: got.set}
	b.handlerDone()
	assert.Equal(t, deadlines{t0.Add(time.Minute)}, got)
	rest, err := io.ReadAll(src)
	assert.NoError(t, err)
	assert.Equal(t, "ab", string(rest), "no byte taken by the question")

	for _, declared := range []bool{true, false} {
		got = nil
		ended := strings.NewReader("ab")
		_, _ = io.ReadAll(ended) // a layer further out
		b = &idleBody{http1: true, declared: declared, r: io.NopCloser(ended), after: time.Minute, now: func() time.Time { return t0 }, setDeadline: got.set}
		b.handlerDone()
		if declared {
			assert.Equal(t, deadlines{t0.Add(time.Minute), {}}, got, "set, then cleared when the body said it had ended")
		} else {
			assert.Equal(t, deadlines{t0.Add(time.Minute)}, got, "chunked: not asked")
		}
	}
}

// A client that sent "Expect: 100-continue" waits for it before its
// body: the answer leaves it to net/http (which closes the connection
// rather than read such a body before the answer), and the handler's
// return arms without asking the body (a Read would send the "100
// Continue").
func TestAClientWaitingFor100ContinueIsNotAsked(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var got deadlines
	asked := &countingReader{}
	b := &idleBody{http1: true, declared: true, r: io.NopCloser(asked), after: time.Minute, now: func() time.Time { return t0 }, setDeadline: got.set, mayContinue: true}
	b.handlerDone()
	assert.Equal(t, deadlines{t0.Add(time.Minute)}, got)
	assert.Zero(t, asked.reads)
}

// Once a Read has made net/http send the "100 Continue", or the answer
// has begun (which gives it up), the handler's return asks the body
// whether it has ended.
func TestOnce100ContinueIsSettledTheBodyIsAsked(t *testing.T) {
	for name, settle := range map[string]func(b *idleBody){
		"a Read":     func(b *idleBody) { b.Read(make([]byte, 1)) },
		"the answer": func(b *idleBody) { b.answering(http.Header{}) },
	} {
		asked := &countingReader{}
		var got deadlines
		b := &idleBody{http1: true, declared: true, r: io.NopCloser(asked), after: time.Minute, now: time.Now, setDeadline: got.set, mayContinue: true}
		settle(b)
		before := asked.reads
		b.handlerDone()
		assert.Equal(t, before+1, asked.reads, name)
	}
}

type countingReader struct{ reads int }

func (r *countingReader) Read([]byte) (int, error) { r.reads++; return 0, nil }

// Closing the body reads what is left under a deadline, and clears it
// once closed: net/http has begun its own read of the connection, and a
// deadline left behind would cancel the request when it passed.
func TestClosingTheBodyLeavesNoDeadline(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var got deadlines
	b := &idleBody{http1: true, r: io.NopCloser(strings.NewReader("ab")), after: time.Minute, now: func() time.Time { return t0 }, setDeadline: got.set}
	assert.NoError(t, b.Close())
	assert.Equal(t, deadlines{t0.Add(time.Minute), {}}, got)
}

// TestACloseAfterTheHandlerOrATimeoutTouchesNoDeadline: once the handler
// has returned (a transport closing the body late) the connection's
// deadline may be the next request's, and after a timeout the passed one
// must stay; a Close then sets none and clears none.
func TestACloseAfterTheHandlerOrATimeoutTouchesNoDeadline(t *testing.T) {
	var got deadlines
	late := &idleBody{r: io.NopCloser(strings.NewReader("ab")), after: time.Minute, now: time.Now, setDeadline: got.set}
	late.handlerDone()
	assert.NoError(t, late.Close())
	assert.Empty(t, got, "after the handler")

	timeout := fmt.Errorf("read tcp: %w", os.ErrDeadlineExceeded)
	timedOut := &idleBody{http1: true, r: io.NopCloser(errBodyReader{timeout}), after: time.Minute, now: time.Now, setDeadline: got.set}
	_, err := timedOut.Read(make([]byte, 8))
	assert.ErrorIs(t, err, ErrBodyTimeout)
	assert.NoError(t, timedOut.Close())
	assert.Len(t, got, 1, "after a timeout: only the Read's own deadline")
}

// failingCloser is a body whose Close fails with err.
type failingCloser struct {
	io.Reader
	err error
}

func (c failingCloser) Close() error { return c.err }

// TestOnlyAClosePastItsDeadlineIsATimeout: a Close that fails because
// the deadline passed marks the body timed out (the answer is a 408);
// one that fails otherwise (the client reset the connection) does not,
// and the handler's answer stands.
func TestOnlyAClosePastItsDeadlineIsATimeout(t *testing.T) {
	for _, tc := range []struct {
		err      error
		timedOut bool
	}{
		{fmt.Errorf("read tcp: %w", os.ErrDeadlineExceeded), true},
		{errors.New("read tcp: connection reset by peer"), false},
	} {
		var got deadlines
		b := &idleBody{http1: true, r: failingCloser{strings.NewReader("ab"), tc.err}, after: time.Minute, now: time.Now, setDeadline: got.set}
		assert.ErrorIs(t, b.Close(), tc.err)
		assert.Equal(t, tc.timedOut, b.timedOut(), "%v", tc.err)
	}
}

// A Read that timed out leaves its deadline, passed, in place, and every
// later Read passes through: net/http's discard of the rest of the body
// then fails at once, and the connection is closed.
func TestAfterATimeoutNothingIsPutBack(t *testing.T) {
	var got deadlines
	timeout := fmt.Errorf("read tcp: %w", os.ErrDeadlineExceeded)
	b := &idleBody{http1: true, r: io.NopCloser(errBodyReader{timeout}), after: time.Minute, now: time.Now, setDeadline: got.set}
	_, err := b.Read(make([]byte, 8))
	assert.ErrorIs(t, err, ErrBodyTimeout)
	_, err = b.Read(make([]byte, 8))
	assert.NotErrorIs(t, err, ErrBodyTimeout, "passed through")
	assert.Len(t, got, 1, "only the first Read's own deadline")
}

// The handler is marked done even when it panics: Recover, further out,
// answers 500 on a connection that stays open.
func TestAPanickingHandlerIsDone(t *testing.T) {
	var body *idleBody
	h := BodyTimeout(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body = r.Body.(*idleBody)
		panic("boom")
	}))
	req := httptest.NewRequest(http.MethodPut, "/", strings.NewReader("x"))
	func() {
		defer func() { recover() }()
		h.ServeHTTP(httptest.NewRecorder(), req)
	}()
	body.mu.Lock()
	defer body.mu.Unlock()
	assert.True(t, body.done)
}

// Only a form-encoded POST, PUT or PATCH that ParseForm parsed into
// values counts as read to its end further out.
func TestReadByForm(t *testing.T) {
	form := func(method, ct string, values url.Values) *http.Request {
		r := httptest.NewRequest(method, "/", strings.NewReader("a=1"))
		r.Header.Set("Content-Type", ct)
		r.PostForm = values
		return r
	}
	const urlencoded = "application/x-www-form-urlencoded"
	one := url.Values{"a": {"1"}}
	assert.True(t, readByForm(form(http.MethodPost, urlencoded, one)))
	assert.True(t, readByForm(form(http.MethodPut, urlencoded+"; charset=utf-8", one)))
	assert.False(t, readByForm(form(http.MethodPost, urlencoded, nil)), "not parsed")
	assert.False(t, readByForm(form(http.MethodPost, urlencoded, url.Values{})), "too large: parsed into nothing")
	assert.False(t, readByForm(form(http.MethodDelete, urlencoded, one)), "ParseForm reads no DELETE body")
	assert.False(t, readByForm(form(http.MethodPost, "multipart/form-data; boundary=b", one)))
}

// newIdleBody takes the server's ReadTimeout as the whole request's
// deadline, and knows a client that waits for "100 Continue" (HTTP/1.1,
// a body, the header) from one that does not.
func TestNewIdleBody(t *testing.T) {
	r := httptest.NewRequest(http.MethodPut, "/", strings.NewReader("abc"))
	r = r.WithContext(context.WithValue(r.Context(), http.ServerContextKey, &http.Server{ReadTimeout: time.Hour}))
	r.Header.Set("Expect", "100-continue")
	before := time.Now()
	b := newIdleBody(httptest.NewRecorder(), r, time.Minute)
	assert.WithinRange(t, b.whole, before.Add(time.Hour), time.Now().Add(time.Hour))
	assert.True(t, b.http1)
	assert.True(t, b.declared)
	assert.True(t, b.mayContinue)

	r2 := httptest.NewRequest(http.MethodPut, "/", strings.NewReader("abc"))
	r2.ProtoMajor, r2.ProtoMinor = 2, 0
	r2.Header.Set("Expect", "100-continue") // HTTP/2 drops it before the handler; were it there
	b = newIdleBody(httptest.NewRecorder(), r2, time.Minute)
	assert.Zero(t, b.whole, "no server, no ReadTimeout")
	assert.False(t, b.http1)
	assert.False(t, b.mayContinue)
}

// The handler's return does not ask a body a Read is waiting on (a
// transport's): the question would wait behind that Read, and so would
// the answer net/http sends after the handler.
func TestTheHandlersReturnDoesNotWaitBehindARead(t *testing.T) {
	src := &stepBodyReader{waiting: make(chan struct{}), next: make(chan []byte)}
	var got deadlines
	b := &idleBody{http1: true, declared: true, r: io.NopCloser(src), after: time.Minute, now: time.Now, setDeadline: got.set}
	go b.Read(make([]byte, 8))
	<-src.waiting
	done := make(chan struct{})
	go func() {
		b.handlerDone()
		close(done)
	}()
	select {
	case <-done:
	case <-src.waiting:
		t.Fatal("the handler's return asked the body while a Read waited")
	case <-time.After(10 * time.Second): // a bound on a hang, not a wait
		t.Fatal("the handler's return waited")
	}
	close(src.next)
}

// Over HTTP/2 a refusal does not say "Connection: close": there it shuts
// the whole connection, every other stream on it included.
func TestAnHTTP2RefusalKeepsTheConnection(t *testing.T) {
	for name, h := range map[string]http.Handler{
		"413": MaxBody(10)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})),
		"408": BodyTimeout(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.ReadAll(r.Body) })),
	} {
		r := httptest.NewRequest(http.MethodPut, "/", io.NopCloser(errBodyReader{fmt.Errorf("read: %w", os.ErrDeadlineExceeded)}))
		r.ProtoMajor, r.ProtoMinor = 2, 0
		r.ContentLength = 100
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		assert.Contains(t, []int{http.StatusRequestEntityTooLarge, http.StatusRequestTimeout}, rec.Code, name)
		assert.Empty(t, rec.Header().Get("Connection"), name)
	}
}
