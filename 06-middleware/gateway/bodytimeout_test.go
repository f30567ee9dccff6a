package gateway

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/middleware"
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
	default:
	}
	return true
}
func (c *bodyClock) Stop() bool { return true }

// A client that stops sending its body mid-way, through a route with
// body-timeout, gets 408 on a closed connection when the clock fires,
// whether the gateway streams the body to the backend (too large to keep
// for a retry) or reads it first (small enough to keep), and the backend
// never gets a whole request.
func TestBodyTimeoutThroughTheGateway(t *testing.T) {
	for name, length := range map[string]int{"streamed": 1 << 20, "kept for retries": 1000} {
		t.Run(name, func(t *testing.T) {
			var whole atomic.Int32
			backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if b, err := io.ReadAll(r.Body); err == nil && len(b) == length {
					whole.Add(1)
				}
			}))
			t.Cleanup(backend.Close)
			clocks := make(chan *bodyClock, 4)
			after := func(_ time.Duration, f func()) middleware.Timer {
				c := &bodyClock{fire: f, resets: make(chan struct{}, 1)}
				clocks <- c
				return c
			}
			_, gw, _ := startWith(t, `
pools:
  p: { targets: ["`+backend.URL+`"] }
routes:
  - pool: p
    middleware:
      - access-log
      - body-timeout
`, Options{AfterFunc: after})

			conn, err := net.Dial("tcp", strings.TrimPrefix(gw.URL, "http://"))
			require.NoError(t, err)
			defer conn.Close()
			conn.SetReadDeadline(time.Now().Add(10 * time.Second)) // a bound on a hang, not a timing
			_, err = fmt.Fprintf(conn, "PUT /upload HTTP/1.1\r\nHost: test\r\nContent-Length: %d\r\n\r\n%s", length, strings.Repeat("x", 100))
			require.NoError(t, err)
			var clock *bodyClock
			select {
			case clock = <-clocks:
			case <-time.After(10 * time.Second):
				t.Fatal("no body clock started")
			}
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
			body, _ := io.ReadAll(resp.Body)
			assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode, string(body))
			assert.True(t, resp.Close)
			assert.Zero(t, whole.Load())
		})
	}
}

// body-timeout's after defaults to nginx's 60 s and must be above 0.
func TestBodyTimeoutOptions(t *testing.T) {
	o := DefaultRegistry().Options("body-timeout").(*BodyTimeoutOptions)
	assert.Equal(t, 60*time.Second, o.After)
	o.After = 0
	assert.ErrorContains(t, o.Check(), "after: want a duration above 0")
}
