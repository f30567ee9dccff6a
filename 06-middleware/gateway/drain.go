package gateway

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// drainAfter is the clock of Run's wait for upgraded connections;
// a test replaces it.
var drainAfter = time.After

// handlers counts the handlers of a server that are running, so that a
// stopping program can wait for those http.Server.Shutdown does not: a
// WebSocket's, or any other protocol's after 101 Switching Protocols.
// The proxy has taken its connection over (hijacked it), and net/http no
// longer tracks a hijacked connection: Shutdown neither waits for it nor
// closes it, and Close does not either. The tunnel would outlive the
// drain, the gateway's Close, and the program's Run.
type handlers struct {
	n        atomic.Int64
	draining atomic.Bool
	mu       sync.Mutex
	idle     chan struct{} // under mu: closed when n drops to 0 while draining

	ctx    context.Context // every request's, through the server's BaseContext
	cancel context.CancelFunc
}

// track makes srv's handler counted, and its requests' contexts children
// of one that drain can cancel. Cancelled, it ends a proxied tunnel:
// httputil.ReverseProxy closes the backend's connection when the
// request's context ends, and then the client's.
func (hs *handlers) track(srv *http.Server) {
	hs.ctx, hs.cancel = context.WithCancel(context.Background())
	srv.BaseContext = func(net.Listener) context.Context { return hs.ctx }
	h := srv.Handler
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hs.n.Add(1)
		defer hs.leave() // a handler may panic (ReverseProxy's ErrAbortHandler)
		h.ServeHTTP(w, r)
	})
}

func (hs *handlers) leave() {
	if hs.n.Add(-1) == 0 && hs.draining.Load() {
		hs.mu.Lock()
		if hs.idle != nil {
			close(hs.idle)
			hs.idle = nil
		}
		hs.mu.Unlock()
	}
}

// drain is called once the server has shut down. It waits until no
// handler runs or bound passes, whichever is first; then it cancels the
// requests' contexts, which ends the tunnels still open, and returns how
// many handlers were still running.
func (hs *handlers) drain(bound <-chan time.Time) int {
	defer hs.cancel()
	hs.draining.Store(true)
	hs.mu.Lock()
	if hs.n.Load() == 0 {
		hs.mu.Unlock()
		return 0
	}
	idle := make(chan struct{})
	hs.idle = idle
	hs.mu.Unlock()
	select {
	case <-idle:
		return 0
	case <-bound:
		return int(hs.n.Load())
	}
}
