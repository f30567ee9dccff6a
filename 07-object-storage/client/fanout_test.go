package client

import (
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fan-out holds back the last byte until finish, and sends it only
// if finish is given no error: a data server never gets a whole body
// that PutStream has not finished checking.
func TestFanOutHoldsBackTheEnd(t *testing.T) {
	for name, fail := range map[string]error{"checks pass": nil, "checks fail": errors.New("too long")} {
		t.Run(name, func(t *testing.T) {
			pr, pw := io.Pipe()
			f := &fanOut{pipes: []*io.PipeWriter{pw}, pass: 9}
			got := make(chan []byte)
			errc := make(chan error)
			go func() {
				b, err := io.ReadAll(pr)
				got <- b
				errc <- err
			}()
			for _, part := range []string{"0123", "45678", "9"} { // 10 bytes, split across the holdback
				n, err := f.Write([]byte(part))
				require.NoError(t, err)
				require.Equal(t, len(part), n)
			}
			// Every pipe write has returned, so the reader has taken
			// everything sent so far: the first 9 bytes, not the 10th.
			assert.Equal(t, "9", string(f.held))
			f.finish(fail)
			if fail == nil {
				assert.Equal(t, "0123456789", string(<-got))
				assert.NoError(t, <-errc)
			} else {
				assert.Equal(t, "012345678", string(<-got))
				assert.ErrorIs(t, <-errc, fail)
			}
		})
	}
}

// A pipe whose reader has gone is dropped; the others still get
// everything.
func TestFanOutDropsAnEndedUpload(t *testing.T) {
	gone, goneW := io.Pipe()
	gone.CloseWithError(errUploadEnded)
	pr, pw := io.Pipe()
	f := &fanOut{pipes: []*io.PipeWriter{goneW, pw}, pass: 2}
	got := make(chan string)
	go func() { b, _ := io.ReadAll(pr); got <- string(b) }()
	_, err := f.Write([]byte("abc"))
	require.NoError(t, err)
	assert.Len(t, f.pipes, 1)
	f.finish(nil)
	assert.Equal(t, "abc", <-got)
}
