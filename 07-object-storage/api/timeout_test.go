package api_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/07-object-storage/api"
	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

// bodyClock is a fake body clock: it fires only when the test says, and
// says on resets when a Read has started it.
type bodyClock struct {
	fire   func()
	resets chan struct{}
}

func (c *bodyClock) Reset(time.Duration) bool {
	select {
	case c.resets <- struct{}{}:
	default: // the test has one to handle already
	}
	return true
}
func (c *bodyClock) Stop() bool { return true }

// withBodyClocks gives each PUT's body clock to the test on clocks.
func withBodyClocks(clocks chan *bodyClock) func(*api.Server) {
	return func(s *api.Server) {
		s.AfterFunc = func(_ time.Duration, f func()) middleware.Timer {
			c := &bodyClock{fire: f, resets: make(chan struct{}, 1)}
			clocks <- c
			return c
		}
	}
}

// A PUT whose body stops mid-way is answered 408 when its body clock
// fires, and nothing is stored: spooled, and streamed to the data
// servers (a large body with its hash).
func TestStalledBodyIs408(t *testing.T) {
	data := make([]byte, 4<<20)
	rand.NewChaCha8([32]byte{11}).Read(data)
	for name, header := range map[string]string{
		"spooled":  "",
		"streamed": api.DigestHeader + ": " + string(blob.Sum(data)) + "\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			clocks := make(chan *bodyClock, 1)
			f := newAPIWith(t, 8<<20, withBodyClocks(clocks))
			conn, err := net.Dial("tcp", strings.TrimPrefix(f.url, "http://"))
			require.NoError(t, err)
			defer conn.Close()
			conn.SetReadDeadline(time.Now().Add(10 * time.Second)) // a bound on a hang, not a timing
			_, err = fmt.Fprintf(conn, "PUT /objects/k HTTP/1.1\r\nHost: test\r\nContent-Length: %d\r\n%s\r\n", len(data), header)
			require.NoError(t, err)
			_, err = conn.Write(data[:len(data)/2]) // and then nothing
			require.NoError(t, err)

			// Fire the clock each time a Read starts it: a fire while no
			// Read waits does nothing, and the handler ends up waiting for
			// the half that never comes.
			clock := waitFor(t, clocks)
			answer := make(chan error, 1)
			var resp *http.Response
			go func() {
				var err error
				resp, err = http.ReadResponse(bufio.NewReader(conn), nil)
				answer <- err
			}()
		wait:
			for {
				select {
				case <-clock.resets:
					clock.fire()
				case err := <-answer:
					require.NoError(t, err)
					break wait
				}
			}
			resp.Body.Close()
			assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode)
			assert.True(t, resp.Close, "the connection is closed: the rest of the body will not be read")
			waitFor(t, f.done)

			got, _ := f.do(t, http.MethodGet, "/objects/k", nil)
			assert.Equal(t, http.StatusNotFound, got.StatusCode)
			for _, d := range f.Data {
				assert.False(t, d.Has(blob.Sum(data)), "a data server kept the blob")
			}
			assertEmptyDir(t, f.tempDir)
		})
	}
}

func waitFor[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second): // a bound on a hang, not a timing
		t.Fatal("waited 10s")
		panic("unreachable")
	}
}

// A BodyTimeout of 0 means no limit, as a zero timeout does in net/http;
// it is not a clock that has already run out.
func TestZeroBodyTimeoutIsOff(t *testing.T) {
	f := newAPIWith(t, 1<<20, func(s *api.Server) { s.BodyTimeout = 0 })
	data := bytes.Repeat([]byte("x"), 512<<10)
	resp, body := f.do(t, http.MethodPut, "/objects/k", bytes.NewReader(data))
	assert.Equal(t, http.StatusCreated, resp.StatusCode, body)
}

// A PUT that fails because its context was cancelled still gets an
// answer (499, as nginx logs it), never net/http's implicit 200 for a
// handler that wrote nothing.
func TestCancelledPutIsNot200(t *testing.T) {
	f := newAPI(t)
	h := api.New(client.New(client.Options{MetaURL: f.MetaURL, Log: storetest.Quiet}), 1024, storetest.Quiet)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodPut, "/objects/k", strings.NewReader("content"))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, 499, rec.Code)
	resp, _ := f.do(t, http.MethodGet, "/objects/k", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}
