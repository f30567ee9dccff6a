package main

import (
	"context"
	"errors"

	"github.com/gocourse/gateway/01-backends/serve"
)

// tiers are the servers this process runs, in the order in which they
// stop: the gateway, the API servers behind it, then the metadata and
// data servers behind those.
type tiers struct{ gateway, api, store serve.Group }

// close closes every listener without serving, for a program that fails
// before run.
func (t *tiers) close() {
	t.gateway.Close()
	t.api.Close()
	t.store.Close()
}

// run serves every tier until ctx is done or a server fails, then stops
// the tiers one after another, front first: each drains its requests in
// flight while the tiers behind it still serve them. Stopped all at once,
// a request in the gateway found its API server gone, and one in an API
// server the metadata server: a graceful stop answered them 502.
// Each tier waits up to serve.ShutdownTimeout for its own, so a stop
// takes at most three times that; a second Ctrl-C ends it at once.
// storeStopping is called before the last tier stops: the background
// loops, which talk to it, end then.
func (t *tiers) run(ctx context.Context, storeStopping func()) error {
	order := []*serve.Group{&t.gateway, &t.api, &t.store}
	stops := make([]context.CancelFunc, len(order))
	done := make([]chan error, len(order))
	ended := make(chan struct{}, len(order))
	for i, g := range order {
		tierCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
		stops[i], done[i] = stop, make(chan error, 1)
		go func() {
			done[i] <- g.Run(tierCtx)
			ended <- struct{}{}
		}()
	}
	select {
	case <-ctx.Done():
	case <-ended: // a server failed
	}
	errs := make([]error, len(order))
	for i := range order {
		if i == len(order)-1 {
			storeStopping()
		}
		stops[i]()
		errs[i] = <-done[i]
	}
	return errors.Join(errs...)
}
