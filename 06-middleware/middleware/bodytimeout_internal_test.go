package middleware

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
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

// A Read waiting when the handler answers keeps its own deadline, and
// when it ends sets a new one, instead of putting the server's back
// (none, with ReadTimeout off): net/http is about to read the rest
// itself, before it sends the header.
func TestAReadEndingAfterTheAnswerBeganSetsADeadline(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var got deadlines
	src := &stepBodyReader{waiting: make(chan struct{}), next: make(chan []byte)}
	b := &idleBody{http1: true, r: io.NopCloser(src), after: time.Minute, now: func() time.Time { return t0 }, setDeadline: got.set}
	n := make(chan int)
	go func() {
		k, _ := b.Read(make([]byte, 8))
		n <- k
	}()
	<-src.waiting
	b.answering()
	src.next <- []byte("abc")
	assert.Equal(t, 3, <-n)
	assert.Equal(t, deadlines{t0.Add(time.Minute), t0.Add(time.Minute)}, got, "its own, then one for net/http's read")
}

// Before the answer goes out, a body nobody finished gets a deadline for
// net/http's read of the rest; one a layer further out read to its end
// gets none, for net/http's own read of the connection has begun, and
// asking it loses no byte.
func TestTheAnswerArmsOnlyAnUnfinishedBody(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var got deadlines
	src := strings.NewReader("ab")
	b := &idleBody{http1: true, r: io.NopCloser(src), after: time.Minute, now: func() time.Time { return t0 }, setDeadline: got.set}
	b.answering()
	assert.Equal(t, deadlines{t0.Add(time.Minute)}, got)
	rest, err := io.ReadAll(src)
	assert.NoError(t, err)
	assert.Equal(t, "ab", string(rest), "no byte taken by the question")

	got = nil
	ended := strings.NewReader("ab")
	_, _ = io.ReadAll(ended) // ParseForm, say, further out
	b = &idleBody{http1: true, r: io.NopCloser(ended), after: time.Minute, now: func() time.Time { return t0 }, setDeadline: got.set}
	b.answering()
	assert.Equal(t, deadlines{t0.Add(time.Minute), {}}, got, "set, then cleared when the body said it had ended")
	b.handlerDone()
	assert.Equal(t, deadlines{t0.Add(time.Minute), {}}, got, "nothing more")
}

// The same holds when the handler returns, which is also when net/http
// reads what is left of a body.
func TestTheHandlersReturnArmsOnlyAnUnfinishedBody(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var got deadlines
	b := &idleBody{http1: true, r: io.NopCloser(strings.NewReader("ab")), after: time.Minute, now: func() time.Time { return t0 }, setDeadline: got.set}
	b.handlerDone()
	assert.Equal(t, deadlines{t0.Add(time.Minute)}, got)

	got = nil
	ended := strings.NewReader("ab")
	_, _ = io.ReadAll(ended)
	b = &idleBody{http1: true, r: io.NopCloser(ended), after: time.Minute, now: func() time.Time { return t0 }, setDeadline: got.set}
	b.handlerDone()
	assert.Equal(t, deadlines{t0.Add(time.Minute), {}}, got)
}

// A client that sent "Expect: 100-continue" waits for it before its
// body: net/http closes the connection rather than read such a body
// before the answer, so the answer sets nothing, and the handler's return
// arms without asking the body (a Read would send the "100 Continue").
func TestAClientWaitingFor100ContinueIsNotAsked(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var got deadlines
	asked := &countingReader{}
	b := &idleBody{http1: true, r: io.NopCloser(asked), after: time.Minute, now: func() time.Time { return t0 }, setDeadline: got.set, expectContinue: true, mayContinue: true}
	b.answering()
	assert.Empty(t, got)

	b = &idleBody{http1: true, r: io.NopCloser(asked), after: time.Minute, now: func() time.Time { return t0 }, setDeadline: got.set, expectContinue: true, mayContinue: true}
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
		"the answer": func(b *idleBody) { b.answering() },
	} {
		asked := &countingReader{}
		var got deadlines
		b := &idleBody{http1: true, r: io.NopCloser(asked), after: time.Minute, now: time.Now, setDeadline: got.set, expectContinue: true, mayContinue: true}
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
