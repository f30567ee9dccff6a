package gateway

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/config"
	"github.com/gocourse/gateway/06-middleware/middleware"
)

// notifyingBuffer is a lockedBuffer that tells wrote of each Write.
type notifyingBuffer struct {
	lockedBuffer
	wrote chan struct{}
}

func (b *notifyingBuffer) Write(p []byte) (int, error) {
	n, err := b.lockedBuffer.Write(p)
	b.wrote <- struct{}{}
	return n, err
}

func TestBufferLogFlushesEveryIntervalAndAtStop(t *testing.T) {
	t.Run("every interval", func(t *testing.T) {
		out := &notifyingBuffer{wrote: make(chan struct{}, 10)}
		buf := middleware.NewLogBuffer(out, 0)
		stop := bufferLog(buf, config.Log{BufferBytes: 4096, FlushInterval: 5 * time.Millisecond})
		defer stop()
		buf.Write([]byte("one\n"))
		select {
		case <-out.wrote:
		case <-time.After(10 * time.Second): // a bound on a broken ticker, not a wait
			t.Fatal("a buffered line was not written within 10 s with a flush interval of 5 ms")
		}
		assert.Equal(t, "one\n", out.String())
	})
	t.Run("at stop", func(t *testing.T) {
		var out lockedBuffer
		buf := middleware.NewLogBuffer(&out, 0)
		stop := bufferLog(buf, config.Log{BufferBytes: 4096, FlushInterval: time.Hour})
		buf.Write([]byte("one\n"))
		assert.Empty(t, out.String(), "the line waits: the interval is an hour")
		stop()
		assert.Equal(t, "one\n", out.String(), "written when the log stops")
		// A line logged after the stop (a request cut off when the drain
		// ran out, whose handler returns while the program is still
		// stopping its demo backends) is written at once: nothing would
		// flush it any more.
		buf.Write([]byte("two\n"))
		assert.Equal(t, "one\ntwo\n", out.String(), "a line logged after the stop is written at once")
	})
	t.Run("no buffer", func(t *testing.T) {
		var out lockedBuffer
		buf := middleware.NewLogBuffer(&out, 0)
		stop := bufferLog(buf, config.Log{FlushInterval: time.Hour})
		defer stop()
		buf.Write([]byte("one\n"))
		assert.Equal(t, "one\n", out.String(), "with buffer_bytes 0, each line at once")
	})
}

func TestAReloadThatChangesTheLogSaysRestart(t *testing.T) {
	reloadSaysRestart(t, "log: {buffer_bytes: 4096}", "4096", "8192", "reload: the log section changes only on restart")
}

// The program, not only bufferLog, writes what waits when it stops: an
// access line held by an hour's flush_interval reaches the log once Run
// returns.
func TestRunWritesTheWaitingLinesWhenItStops(t *testing.T) {
	var log lockedBuffer
	logOutput = &log
	t.Cleanup(func() { logOutput = os.Stderr }) // after runFile's own cleanup, which stops Run
	srvs := backends(t, 1)
	url, _, stop := runFile(t, fill("log: {buffer_bytes: 65536, flush_interval: 1h}\npools: {p: {targets: [\"${A}\"]}}\nroutes: [{pool: p, middleware: [access-log]}]\n", srvs))
	code, _ := get(t, url+"/")
	require.Equal(t, 200, code)
	assert.NotContains(t, log.String(), "msg=request", "the access line waits: the interval is an hour")
	require.NoError(t, stop())
	assert.Contains(t, log.String(), "msg=request method=GET path=/ status=200", "written when the program stops")
}
