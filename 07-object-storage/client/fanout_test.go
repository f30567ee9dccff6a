package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/deadaddr"
	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
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

// uploadReader stands in for the transport of every PUT: it reads the
// request's body itself and says whether all of it came. Go's
// transport flushes its write buffer only once the body has ended (it
// reads on past Content-Length, for EOF), and not if the body fails: the
// last bytes of a body that fails never leave it. So a real data server
// would not notice a fan-out that passed a bad body's end on; this one
// does.
type uploadReader struct {
	arrived chan<- bool
	next    http.RoundTripper
}

func (u uploadReader) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPut {
		return u.next.RoundTrip(r)
	}
	// A server reads Content-Length bytes, and has the body then.
	_, err := io.ReadFull(r.Body, make([]byte, r.ContentLength))
	r.Body.Close()
	u.arrived <- err == nil
	if err != nil {
		return nil, err
	}
	return &http.Response{StatusCode: http.StatusCreated, Body: http.NoBody, Request: r}, nil
}

// PutStream never lets a data server receive a whole body it has not
// finished checking: here the data server keeps whatever arrives whole,
// and only the body that passed every check may arrive whole.
func TestPutStreamWithholdsTheEndOfABadBody(t *testing.T) {
	data := make([]byte, 3*blob.ChunkSize+100)
	rand.NewChaCha8([32]byte{5}).Read(data)
	n := int64(len(data))
	arrived := make(chan bool, 1)
	fm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/writes":
			json.NewEncoder(w).Encode(meta.Placement{Targets: []string{"http://data.invalid"}, Replicas: 1, Quorum: 1})
		case "/commits":
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(meta.Version{})
		}
	}))
	defer fm.Close()
	c := New(Options{MetaURL: fm.URL, Log: slog.New(slog.DiscardHandler),
		HTTP: &http.Client{Transport: uploadReader{arrived, http.DefaultTransport}}})

	for name, tc := range map[string]struct {
		size  int64
		want  blob.Hash
		whole bool
	}{
		"good":         {n, blob.Sum(data), true},
		"longer":       {n - 10, blob.Sum(data[:n-10]), false},
		"wrong hash":   {n, blob.Sum([]byte("other")), false},
		"body shorter": {n + 10, blob.Sum(data), false},
	} {
		_, err := c.PutStream(context.Background(), "k", bytes.NewReader(data), tc.size, tc.want, PutOptions{})
		assert.Equal(t, tc.whole, err == nil, "%s: %v", name, err)
		assert.Equal(t, tc.whole, <-arrived, "%s: the data server got a whole body", name)
	}
}

// The fan-out stops the copy once the write cannot succeed: the caller
// gave up, or too few uploads are left to reach the quorum.
func TestFanOutStopsWhenTheWriteCannotSucceed(t *testing.T) {
	pr, pw := io.Pipe()
	go io.Copy(io.Discard, pr)
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := &fanOut{pipes: []*io.PipeWriter{pw}, pass: 100, ctx: ctx, possible: 3, quorum: 2}

	_, err := f.Write([]byte("abc"))
	require.NoError(t, err, "three copies possible, two needed")
	f.failed.Add(1)
	_, err = f.Write([]byte("abc"))
	require.NoError(t, err, "two copies possible, two needed")
	f.failed.Add(1)
	_, err = f.Write([]byte("abc"))
	require.ErrorIs(t, err, meta.ErrTooFewReplicas, "one copy possible, two needed")

	f.failed.Store(0)
	cancel()
	_, err = f.Write([]byte("abc"))
	require.ErrorIs(t, err, context.Canceled)
}

// countingReader yields zeros for ever, and counts them; after reads
// calls to Read it calls then, if set.
type countingReader struct {
	n     int64
	reads int
	after int
	then  func()
}

func (r *countingReader) Read(p []byte) (int, error) {
	if r.reads++; r.reads == r.after && r.then != nil {
		r.then()
	}
	clear(p)
	r.n += int64(len(p))
	return len(p), nil
}

// A streamed write stops reading its body as soon as it cannot succeed:
// it used to read and hash all of it first (a 1 GiB body here).
func TestPutStreamStopsReadingADoomedWrite(t *testing.T) {
	const size = 1 << 30
	ds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	defer ds.Close()
	dead := deadaddr.URL(t) // a data server that died after the placement
	client := func(p meta.Placement) *Client {
		fm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			json.NewEncoder(w).Encode(p)
		}))
		t.Cleanup(fm.Close)
		return New(Options{MetaURL: fm.URL, Log: slog.New(slog.DiscardHandler)})
	}
	want := blob.Sum([]byte("any: the write fails before the hash is known"))

	t.Run("a data server down, W = R", func(t *testing.T) {
		c := client(meta.Placement{Targets: []string{ds.URL, dead}, Replicas: 2, Quorum: 2})
		body := &countingReader{}
		_, err := c.PutStream(context.Background(), "k", body, size, want, PutOptions{})
		require.ErrorIs(t, err, meta.ErrTooFewReplicas)
		assert.Less(t, body.n, int64(size), "the whole body was read")
	})
	t.Run("the server that failed is not the last", func(t *testing.T) {
		// A server that holds the blob answers at once, without the body
		// (Expect: 100-continue): its upload succeeds. The error still
		// says why the write failed, naming the server that failed.
		has := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		defer has.Close()
		c := client(meta.Placement{Targets: []string{dead, has.URL}, Replicas: 2, Quorum: 2})
		_, err := c.PutStream(context.Background(), "k", &countingReader{}, size, want, PutOptions{})
		require.ErrorIs(t, err, meta.ErrTooFewReplicas)
		assert.ErrorContains(t, err, "last failure: ")
		assert.ErrorContains(t, err, dead, "the error does not name the server that failed")
		assert.ErrorContains(t, err, `put "k"`, "the error does not name the key")
	})
	t.Run("an upload cancelled because the write was doomed is not its cause", func(t *testing.T) {
		// ds reads on until PutStream cancels its upload, once the dead
		// server has doomed the write. Its "context canceled" comes
		// last, but it is what the failure caused, not why the write
		// failed.
		c := client(meta.Placement{Targets: []string{dead, ds.URL}, Replicas: 2, Quorum: 2})
		_, err := c.PutStream(context.Background(), "k", &countingReader{}, size, want, PutOptions{})
		require.ErrorIs(t, err, meta.ErrTooFewReplicas)
		assert.ErrorContains(t, err, dead, "the error does not name the server that failed")
	})
	t.Run("the caller gives up", func(t *testing.T) {
		// Every server up: only the caller can stop this write.
		c := client(meta.Placement{Targets: []string{ds.URL}, Replicas: 1, Quorum: 1})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		body := &countingReader{after: 2, then: cancel}
		_, err := c.PutStream(ctx, "k", body, size, want, PutOptions{})
		require.ErrorIs(t, err, context.Canceled)
		assert.LessOrEqual(t, body.n, int64(2*blob.ChunkSize), "read on after the caller gave up")
	})
}
