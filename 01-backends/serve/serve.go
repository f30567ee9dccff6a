// Package serve runs the course's HTTP servers the same way in every stage:
// listen with a clear error when the port is taken, serve until the program
// is told to stop, then shut down gracefully so that in-flight requests
// finish. Each stage's main function is a few lines on top of it.
package serve

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// ShutdownTimeout bounds how long a stopping program waits for in-flight
// requests to finish before it closes their connections.
const ShutdownTimeout = 10 * time.Second

// ErrCutOff is wrapped by Run's error when requests were still in flight
// at the end of the wait: their connections were closed, and their clients
// got an answer cut short, or none.
var ErrCutOff = errors.New("requests still in flight were cut off")

// Listen opens a TCP listener on addr. An address that is not host:port,
// or whose port no listener can have (99999, or a service name this
// machine does not know), or whose host no resolver knows, is a
// *UsageError (the command line is wrong);
// the error for a port another program already holds says what to do
// about it.
func Listen(addr string) (net.Listener, error) {
	if err := CheckAddress("-listen", addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if bad := (*net.AddrError)(nil); errors.As(err, &bad) {
		return nil, Usagef("-listen %q: %v; want host:port, such as 127.0.0.1:8080", addr, bad)
	}
	// A host no resolver knows (a typo, or the space after a comma in a
	// list of addresses) is the command line's fault too.
	if dns := (*net.DNSError)(nil); errors.As(err, &dns) && dns.IsNotFound {
		return nil, Usagef("-listen %q: no such host %q; want host:port, such as 127.0.0.1:8080", addr, dns.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s (is another program using it? pick another address with -listen): %w", addr, err)
	}
	return ln, nil
}

// CheckAddress refuses, as a *UsageError naming flag, an address that is
// not host:port or whose port is a service name this machine does not
// know. Listen calls it for -listen; a program with another address flag
// (an admin listener's) calls it to check that one before it starts
// anything. (net.Listen would report an unknown service name as a failed
// lookup, like a busy port: it is looked up first, locally, in
// /etc/services.)
func CheckAddress(flag, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return Usagef("%s %q: want host:port, such as 127.0.0.1:8080", flag, addr)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return Usagef("%s %q: %v; want host:port, such as 127.0.0.1:8080", flag, addr, err)
	}
	return nil
}

// NewServer returns an http.Server for h with the timeouts every server
// facing a network should have: without ReadHeaderTimeout a client that
// sends its headers one byte a minute holds a connection forever.
func NewServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
	}
}

// Group is a set of servers that start together and stop together.
type Group struct {
	// ShutdownTimeout is how long Run waits for in-flight requests once
	// told to stop; 0 means the package's ShutdownTimeout.
	ShutdownTimeout time.Duration

	servers   []*http.Server
	listeners []net.Listener

	// beforeServe, if set, is called by each server's goroutine before
	// it serves: a test holds a Serve back with it, as a slow scheduler
	// might, until Run has shut its server down.
	beforeServe func()
}

// Add registers srv to serve on ln when Run is called.
func (g *Group) Add(srv *http.Server, ln net.Listener) {
	g.servers = append(g.servers, srv)
	g.listeners = append(g.listeners, ln)
}

// Handle is Add with a server made by NewServer.
func (g *Group) Handle(h http.Handler, ln net.Listener) *http.Server {
	srv := NewServer(h)
	g.Add(srv, ln)
	return srv
}

// Close closes every listener without serving: for a program that fails
// after opening some listeners and before Run.
func (g *Group) Close() {
	for _, ln := range g.listeners {
		ln.Close()
	}
}

// Run serves every server until ctx is done or one of them fails, then
// shuts all of them down, waiting up to g.ShutdownTimeout for in-flight
// requests. It returns when every server has stopped serving, its
// listener closed, and nil after a clean stop. Requests still running at
// the end of the wait are cut off (Shutdown alone would leave them
// running), and the error wraps ErrCutOff.
func (g *Group) Run(ctx context.Context) error {
	errc := make(chan error, len(g.servers))
	for i, srv := range g.servers {
		go func() {
			if g.beforeServe != nil {
				g.beforeServe()
			}
			errc <- srv.Serve(g.listeners[i])
		}()
	}
	var served []error // what each Serve returned, as they return
	select {
	case <-ctx.Done():
	case err := <-errc: // a server failed before we were told to stop
		served = append(served, err)
	}

	wait := cmp.Or(g.ShutdownTimeout, ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), wait)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(g.servers))
	for i, srv := range g.servers {
		wg.Go(func() {
			if errs[i] = srv.Shutdown(shutdownCtx); errors.Is(errs[i], context.DeadlineExceeded) {
				srv.Close()
			}
		})
	}
	wg.Wait()
	// Every Serve returns once its server is shut down (at once, if it
	// had not started yet), closing its listener: wait for them all, so
	// that no listener outlives Run.
	for len(served) < len(g.servers) {
		served = append(served, <-errc)
	}
	cut := false
	for i, err := range errs {
		if errors.Is(err, context.DeadlineExceeded) {
			errs[i], cut = nil, true // said once, below
		}
	}
	if cut {
		errs = append(errs, fmt.Errorf("stopped after waiting %v: %w", wait, ErrCutOff))
	}
	var failed []error
	for _, err := range served {
		if !errors.Is(err, http.ErrServerClosed) {
			failed = append(failed, err)
		}
	}
	return errors.Join(append(failed, errs...)...)
}

// Merge moves every server of other into g.
func (g *Group) Merge(other *Group) {
	g.servers = append(g.servers, other.servers...)
	g.listeners = append(g.listeners, other.listeners...)
	other.servers, other.listeners = nil, nil
}
