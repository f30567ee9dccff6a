package middleware

import (
	"errors"
	"fmt"
	"io"
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
// the last one. At EOF nothing is put back: net/http has then started its
// own read, with no deadline, to notice the client leaving.
func TestEveryBodyReadHasItsOwnDeadline(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var got deadlines
	b := &idleBody{r: io.NopCloser(strings.NewReader("abcdef")), after: time.Minute, now: func() time.Time { return t0 }, setDeadline: got.set}
	_, err := b.Read(make([]byte, 4))
	assert.NoError(t, err)
	assert.Equal(t, deadlines{t0.Add(time.Minute), {}}, got)

	got = nil
	_, _ = b.Read(make([]byte, 4)) // "ef"
	_, err = b.Read(make([]byte, 4))
	assert.Equal(t, io.EOF, err)
	assert.Equal(t, deadlines{t0.Add(time.Minute), {}, t0.Add(time.Minute)}, got, "nothing put back at EOF")
}

// The deadline follows the clock: it bounds each pause, not the upload,
// which may go on for longer than after in all.
func TestTheDeadlineBoundsThePauseNotTheUpload(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var got deadlines
	b := &idleBody{r: io.NopCloser(strings.NewReader("abc")), after: time.Minute, now: func() time.Time { now = now.Add(50 * time.Second); return now }, setDeadline: got.set}
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
	b := &idleBody{r: io.NopCloser(strings.NewReader("abc")), after: time.Minute, now: func() time.Time { return t0 }, setDeadline: got.set, whole: whole}
	_, err := b.Read(make([]byte, 1))
	assert.NoError(t, err)
	assert.Equal(t, deadlines{whole, whole}, got)
}

// A Read that times out returns ErrBodyTimeout, which the layer answers
// with 408; any other error, and EOF, is passed on as it is.
func TestATimedOutReadIsErrBodyTimeout(t *testing.T) {
	var got deadlines
	timeout := fmt.Errorf("read tcp: %w", os.ErrDeadlineExceeded)
	b := &idleBody{r: io.NopCloser(errBodyReader{timeout}), after: time.Minute, now: time.Now, setDeadline: got.set}
	_, err := b.Read(make([]byte, 8))
	assert.ErrorIs(t, err, ErrBodyTimeout)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.True(t, b.timedOut())

	other := errors.New("connection reset")
	b = &idleBody{r: io.NopCloser(errBodyReader{other}), after: time.Minute, now: time.Now, setDeadline: got.set}
	_, err = b.Read(make([]byte, 8))
	assert.ErrorIs(t, err, other)
	assert.NotErrorIs(t, err, ErrBodyTimeout)
	assert.False(t, b.timedOut())
}

type errBodyReader struct{ err error }

func (r errBodyReader) Read([]byte) (int, error) { return 0, r.err }
