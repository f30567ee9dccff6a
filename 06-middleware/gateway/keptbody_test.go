package gateway

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// trickle gives its data a byte per Read, and records how much room each
// Read was offered, beside how much it had given before.
type trickle struct {
	data    []byte
	offered []int // len(p) of each Read
	given   []int // bytes given before each Read
	n       int
}

func (t *trickle) Read(p []byte) (int, error) {
	t.offered = append(t.offered, len(p))
	t.given = append(t.given, t.n)
	if t.n == len(t.data) {
		return 0, io.EOF
	}
	p[0] = t.data[t.n]
	t.n++
	return 1, nil
}

// A kept body's buffer grows with what has arrived, not with what the
// client declared: each Read is offered no more room than the larger of
// keepFirst and what came before it (the buffer at most doubles), so a
// client that declares 64 KiB and sends little holds little.
func TestAKeptBodyGrowsAsItArrives(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	body := &trickle{data: data}
	req := httptest.NewRequest(http.MethodPut, "/", io.NopCloser(body))
	req.ContentLength = int64(len(data))
	kept, err := replayable(req, 64<<10)
	require.NoError(t, err)
	assert.Equal(t, data, kept)
	require.Len(t, body.offered, len(data))
	for i, room := range body.offered {
		if before := body.given[i]; before+room > max(keepFirst, 2*before) {
			t.Fatalf("Read %d, after %d bytes, was offered %d bytes of room: a buffer of %d, more than max(%d, twice what had arrived)",
				i+1, before, room, before+room, keepFirst)
		}
	}
	assert.Equal(t, keepFirst, body.offered[0], "the first Read")
}

// A kept body that ends before its declared length is the client's
// error (io.ErrUnexpectedEOF, also when nothing came), and nothing is
// kept.
func TestAKeptBodyCutShortIsTheClientsError(t *testing.T) {
	for _, sent := range []int{0, 10, keepFirst + 1} {
		req := httptest.NewRequest(http.MethodPut, "/", io.NopCloser(&trickle{data: make([]byte, sent)}))
		req.ContentLength = 9000
		kept, err := replayable(req, 64<<10)
		assert.Nil(t, kept, "%d bytes of 9000", sent)
		assert.ErrorIs(t, err, errRequestBody, "%d bytes of 9000", sent)
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "%d bytes of 9000", sent)
	}
}
