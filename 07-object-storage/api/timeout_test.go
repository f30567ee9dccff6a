package api_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/api"
	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/client"
)

// bodyClock is a fake body clock: it fires only when the test says, and
// records whether it runs.
type bodyClock struct {
	mu      sync.Mutex
	fire    func()
	running bool
}

func (c *bodyClock) Reset(time.Duration) bool { c.set(true); return true }
func (c *bodyClock) Stop() bool               { c.set(false); return true }
func (c *bodyClock) set(run bool)             { c.mu.Lock(); c.running = run; c.mu.Unlock() }
func (c *bodyClock) isRunning() bool          { c.mu.Lock(); defer c.mu.Unlock(); return c.running }

// withBodyClocks gives each PUT's body clock to the test on clocks.
func withBodyClocks(clocks chan *bodyClock) func(*api.Server) {
	return func(s *api.Server) {
		s.AfterFunc = func(_ time.Duration, f func()) client.Timer {
			c := &bodyClock{fire: f, running: true}
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

			clock := waitFor(t, clocks)
			clock.fire()
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			require.NoError(t, err)
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
