package serve

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/deadaddr"
)

func TestListenExplainsABusyPort(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()

	_, err = Listen(ln.Addr().String())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot listen on "+ln.Addr().String())
	assert.Contains(t, err.Error(), "-listen")
}

func TestListenRejectsAMalformedAddress(t *testing.T) {
	// The last three are host:port in form, but no port can have that
	// number, or name (a port may be a service name such as http, looked
	// up on this machine): net.Listen refuses them, and the program must
	// say that the command line is wrong (exit 2), not ask whether
	// another program holds the port.
	// " 127.0.0.1:0" is what -listen '127.0.0.1:0, 127.0.0.1:0' gives
	// after the comma: a host no resolver can find (Go's refuses the name
	// without asking a server), which is a typo, not a busy port.
	for _, addr := range []string{"nope", "", "127.0.0.1", "127.0.0.1:99999", "127.0.0.1:-1", "127.0.0.1:no-such-service", " 127.0.0.1:0"} {
		_, err := Listen(addr)
		var usage *UsageError
		if assert.ErrorAs(t, err, &usage, "%q is a bad command line, not a busy port", addr) {
			assert.NotContains(t, err.Error(), "another program", "%q", addr)
		}
	}
}

// Every program serves with NewServer (Group.Handle uses it), so its
// timeouts are the ones chapter 01 promises: a ReadHeaderTimeout, without
// which a client that sends a header byte a minute holds a connection and
// a goroutine for ever, and the 2-minute IdleTimeout after which the
// backends' WebSocket echo closes a silent client.
func TestNewServerSetsTimeouts(t *testing.T) {
	var g Group
	srv := g.Handle(http.NotFoundHandler(), nil)
	assert.Positive(t, srv.ReadHeaderTimeout, "ReadHeaderTimeout")
	assert.Equal(t, 2*time.Minute, srv.IdleTimeout, "IdleTimeout")
}

// Chapter 01 promises a wait of 10 s before requests still in flight are
// cut off ("stopped after waiting 10s"), long enough for any demo route
// but /delay beyond it. A Group's zero ShutdownTimeout means this one
// (TestRunDrainsInFlightRequests fails if it meant no wait at all).
func TestShutdownTimeoutIsTenSeconds(t *testing.T) {
	assert.Equal(t, 10*time.Second, ShutdownTimeout)
}

// Run must let a request that is in flight when the program is told to stop
// finish, and only then return.
func TestRunDrainsInFlightRequests(t *testing.T) {
	var runReturned atomic.Bool
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		if runReturned.Load() {
			io.WriteString(w, "Run returned before this request finished")
			return
		}
		io.WriteString(w, "finished")
	})
	// Closed by the stop, the listener's port stays held: a dial below
	// that succeeds is this server's, never another test's given the port.
	ln := deadaddr.Listen(t)
	addr := ln.Addr().String()
	var g Group
	g.Handle(h, ln)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		err := g.Run(ctx)
		runReturned.Store(true)
		done <- err
	}()

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr)
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-entered
	cancel()
	// Shutdown closes the listener first, then waits. Once a new connection
	// is refused the stop is under way: a Run that did not wait would return
	// now, before the request it should be waiting for is released.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
		require.True(t, time.Now().Before(deadline), "the listener was still open 10s after the stop")
		runtime.Gosched()
	}
	close(release)
	r := <-got
	require.NoError(t, r.err)
	assert.Equal(t, "finished", r.body)
	assert.NoError(t, <-done)
}

// A server that stops serving before Run is told to stop (here its
// listener is closed) ends Run with its error, and the others are shut
// down: the program exits 1 instead of running on with a dead listener.
// The context's deadline only bounds the test.
func TestRunReportsAServerThatFails(t *testing.T) {
	good, err := Listen("127.0.0.1:0")
	require.NoError(t, err)
	bad, err := Listen("127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, bad.Close())
	var g Group
	g.Handle(http.NotFoundHandler(), good)
	g.Handle(http.NotFoundHandler(), bad)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = g.Run(ctx)
	assert.ErrorIs(t, err, net.ErrClosed)
	assert.NoError(t, ctx.Err(), "Run waited for the context instead of returning the server's error")
}

// quietListener is a listener on which no connection ever arrives: Accept
// waits until it is closed.
type quietListener struct {
	closed    chan struct{}
	closeOnce sync.Once
}

func newQuietListener() *quietListener { return &quietListener{closed: make(chan struct{})} }

func (l *quietListener) Accept() (net.Conn, error) {
	<-l.closed
	return nil, net.ErrClosed
}

func (l *quietListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

func (l *quietListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// Run returns only when every server has stopped serving, so every
// listener is closed by then: a program, or a test, may listen on the
// same address again at once. A Serve that starts after Run has shut its
// server down (its goroutine was slow to be scheduled) returns at once,
// and only then closes its listener: Shutdown never knew of it. So Run
// must wait for every Serve to return. The test holds each one back
// until nothing else in the test's bubble can move (synctest.Wait): by
// then Run has shut every server down, and has either returned, too
// early, or is waiting for the Serves, as it must.
func TestRunClosesEveryListenerBeforeItReturns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		g := Group{beforeServe: func() { <-release }}
		listeners := make([]*quietListener, 8)
		for i := range listeners {
			listeners[i] = newQuietListener()
			g.Handle(http.NotFoundHandler(), listeners[i])
		}
		open := func() (open []int) {
			for i, ln := range listeners {
				select {
				case <-ln.closed:
				default:
					open = append(open, i)
				}
			}
			return open
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		done := make(chan error, 1)
		go func() { done <- g.Run(ctx) }()

		synctest.Wait() // every server shut down, every Serve held back
		select {
		case err := <-done:
			assert.NoError(t, err)
			t.Errorf("Run returned before its servers' Serve did: listeners %v were left open", open())
			close(release) // so that the held goroutines end with the bubble
			return
		default:
		}
		close(release)
		require.NoError(t, <-done)
		assert.Empty(t, open(), "listeners still open when Run returned")
	})
}

// A request still running when the wait ends is cut off, and Run says so:
// Shutdown alone returns at the deadline and leaves it running.
func TestRunCutsOffARequestThatOutlastsTheWait(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release) // only after Run returned: the handler outlasts the wait
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	})
	ln, err := Listen("127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	g := Group{ShutdownTimeout: time.Millisecond}
	g.Handle(h, ln)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()

	got := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + addr)
		if err == nil {
			resp.Body.Close()
		}
		got <- err
	}()
	<-entered
	cancel()
	err = <-done
	assert.ErrorIs(t, err, ErrCutOff)
	assert.EqualError(t, err, "stopped after waiting 1ms: requests still in flight were cut off")
	select {
	case err := <-got:
		assert.Error(t, err, "the client should see its request cut off")
	case <-time.After(10 * time.Second):
		t.Error("the request was still running 10s after Run returned")
	}
}

func TestExitCodes(t *testing.T) {
	for _, tc := range []struct {
		err    error
		code   int
		stderr string
	}{
		{nil, 0, ""},
		{flag.ErrHelp, 0, ""},
		{Usagef("-targets: no URL"), 2, "prog: -targets: no URL\nRun 'prog -h' for the flags.\n"},
		{&UsageError{Err: errors.New("already said"), printed: true}, 2, ""},
		{errors.New("cannot listen"), 1, "prog: cannot listen\n"},
	} {
		var stderr bytes.Buffer
		assert.Equal(t, tc.code, ExitCode(&stderr, "prog", tc.err), "%v", tc.err)
		assert.Equal(t, tc.stderr, stderr.String(), "%v", tc.err)
	}
}

func TestParse(t *testing.T) {
	newFlags := func() *flag.FlagSet {
		fs := flag.NewFlagSet("prog", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.String("listen", "", "")
		return fs
	}
	assert.NoError(t, Parse(newFlags(), []string{"-listen", "x"}))
	assert.ErrorIs(t, Parse(newFlags(), []string{"-h"}), flag.ErrHelp)
	var usage *UsageError
	assert.ErrorAs(t, Parse(newFlags(), []string{"-nope"}), &usage)
	assert.ErrorAs(t, Parse(newFlags(), []string{"stray"}), &usage)
}

func TestIsSet(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"-other", "x"}, false},
		{[]string{"-targets", ""}, true},
		{[]string{"-targets", "default"}, true}, // the default value, given on purpose
		{[]string{"-other", "x", "-targets=a"}, true},
	} {
		fs := flag.NewFlagSet("prog", flag.ContinueOnError)
		fs.String("targets", "default", "")
		fs.String("other", "", "")
		require.NoError(t, Parse(fs, tc.args))
		assert.Equal(t, tc.want, IsSet(fs, "targets"), "%q", tc.args)
	}
}
