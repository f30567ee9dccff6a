// Package exercise holds the chapter's exercises. Each function or type
// below is a starting point that does not yet do what its comment asks;
// the test that checks it runs only with the exercise build tag:
//
//	go test -tags exercise ./04-multi-target/exercise
//
// fails until you are done, and plain go test (the course's CI) ignores it.
// Add -race where it works (it needs cgo): the race detector sees every
// unsynchronised access, while the test without it sees a missing lock
// only through its effects (see pickertest.SameUnderConcurrency).
package exercise

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"net/url"

	"github.com/gocourse/gateway/03-director/rewrite"
)

// Exercise 1. WeightedRandom returns a Picker that chooses targets[i] with
// probability weights[i]/sum(weights), drawing from src (nil: the global
// generator), and is safe for concurrent use. It rejects a weights slice
// of the wrong length, a negative weight, and weights that are all zero.
//
// Check: go test -tags exercise ./04-multi-target/exercise -run TestWeightedRandom
func WeightedRandom(targets []*url.URL, weights []int, src *rand.Rand) (rewrite.Picker, error) {
	// START HERE
	return func(*http.Request) (*url.URL, error) { return targets[0], nil }, nil
}

// Exercise 2. A Pool picks at random among targets that can be added and
// removed while requests are being served (the "add and get" interface of
// the seed tutorial's balancers). Pick on an empty pool returns an error
// that wraps rewrite.ErrNoTarget, so a proxy built with
// rewrite.NewPicking(pool.Pick, ...) answers 503. Every method is safe for
// concurrent use.
//
// Check: go test -tags exercise ./04-multi-target/exercise -run TestPool
type Pool struct {
	src     *rand.Rand
	targets []*url.URL
}

// NewPool returns an empty pool that draws from src (nil: the global
// generator).
func NewPool(src *rand.Rand) *Pool { return &Pool{src: src} }

// Add puts u in the pool.
func (p *Pool) Add(u *url.URL) {
	p.targets = append(p.targets, u) // START HERE
}

// Remove takes the target equal to u (same URL string) out of the pool.
func (p *Pool) Remove(u *url.URL) {
	// START HERE
}

// Pick chooses one target of the pool at random.
func (p *Pool) Pick(*http.Request) (*url.URL, error) {
	return nil, errors.New("not implemented") // START HERE
}
