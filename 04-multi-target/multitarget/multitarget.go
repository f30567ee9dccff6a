// Package multitarget puts one reverse proxy in front of several backends
// and sends each request to one of them, picked at random: the seed
// tutorial's NewMultipleHostsReverseProxy, built on package rewrite's
// Rewrite proxy instead of a Director.
//
// The pick is a rewrite.Picker, so nothing else changes when it does:
// stage 05 keeps this shape and passes its balancers (round robin, smooth
// weighted round robin, consistent hash, ...) to rewrite.NewPicking in
// place of Random.
package multitarget

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sync"

	"github.com/gocourse/gateway/03-director/rewrite"
)

// ErrNoTargets is returned for an empty list of targets.
var ErrNoTargets = errors.New("multitarget: no targets")

// Options configure New.
type Options struct {
	// Rewrite says what the proxy does to each request and response, and
	// which Transport and ErrorHandler it uses (see package rewrite).
	Rewrite rewrite.Options
	// Rand is the source of the random picks; nil means math/rand/v2's
	// global generator. Tests and demos pass a seeded one, such as
	// rand.New(rand.NewPCG(1, 1)), so that the picks repeat run after run.
	Rand *rand.Rand
}

// New returns a proxy that sends each request to one of targets, chosen
// uniformly at random.
func New(targets []*url.URL, opts Options) (*rewrite.Proxy, error) {
	pick, err := Random(targets, opts.Rand)
	if err != nil {
		return nil, err
	}
	return rewrite.NewPicking(pick, opts.Rewrite), nil
}

// Random returns a Picker that chooses one of targets uniformly at random,
// drawing from src (nil means the global generator).
//
// A *rand.Rand is not safe for concurrent use, and a proxy picks for many
// requests at once, so calls to src are serialised with a mutex. (The
// global generator needs no lock: it is safe for concurrent use.)
func Random(targets []*url.URL, src *rand.Rand) (rewrite.Picker, error) {
	if len(targets) == 0 {
		return nil, ErrNoTargets
	}
	targets = slices.Clone(targets) // the caller may reuse its slice
	intN := rand.IntN
	if src != nil {
		var mu sync.Mutex
		intN = func(n int) int {
			mu.Lock()
			defer mu.Unlock()
			return src.IntN(n)
		}
	}
	return func(*http.Request) (*url.URL, error) {
		return targets[intN(len(targets))], nil
	}, nil
}
