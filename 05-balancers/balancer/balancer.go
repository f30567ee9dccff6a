// Package balancer chooses which backend serves each request.
//
// Every algorithm implements one interface, Balancer: backends are added
// and removed with a weight, Pick chooses one for a request, and Report
// tells the balancer how the request went. Reports feed two things all
// balancers share through Pool: passive health tracking (a backend that
// fails max_fails times within fail_timeout is skipped for fail_timeout, as
// in nginx) and the count of in-flight requests that least-connections,
// power-of-two-choices and bounded-load hashing compare.
//
// The algorithms:
//
//	Random          uniform random pick
//	RoundRobin      each backend in turn
//	SmoothWeighted  nginx's smooth weighted round robin
//	LeastConn       fewest in-flight requests per unit of weight
//	TwoChoices      the less loaded of two random backends
//	ConsistentHash  a key's backend on a hash ring with virtual nodes
//	BoundedLoad     consistent hashing that caps every backend's load
//	Maglev          Google's Maglev lookup table
//
// New builds any of them by name, for configuration files and flags.
package balancer

import (
	"errors"
	"fmt"
)

// Balancer picks backends. Implementations are safe for concurrent use.
//
// Backends are identified by a string the caller chooses, such as a URL.
// Every successful Pick must be followed, once the request is over, by one
// Report for the backend it returned: in-flight counts depend on it.
type Balancer interface {
	// Add adds a backend with a weight from 1 to MaxWeight (else
	// ErrBadWeight). Balancers that do not use weights accept and ignore
	// them.
	Add(id string, weight int) error
	// Remove removes a backend. Reports for it that arrive later are
	// ignored, unless a backend of the same id has been added since: a
	// Report names an id, not a pick, so it then counts for the new one.
	Remove(id string) error
	// Pick chooses a backend for a request. Hash balancers map equal keys
	// to the same backend; the others ignore key. The error is
	// ErrNoBackend (tested with errors.Is) when the pool is empty or every
	// backend is down.
	Pick(key string) (string, error)
	// Report tells the balancer how a request to id went.
	Report(id string, o Outcome)
}

// Outcome is how a request to a backend went.
type Outcome bool

const (
	// Success means the backend answered.
	Success Outcome = true
	// Failure means the backend could not be reached or did not answer
	// (nginx's "error" and "timeout"); an HTTP error status is an answer.
	Failure Outcome = false
)

var (
	// ErrNoBackend means no backend can take the request.
	ErrNoBackend = errors.New("no backend available")
	// ErrUnknownBackend is returned by Remove for an id never added.
	ErrUnknownBackend = errors.New("unknown backend")
	// ErrDuplicateBackend is returned by Add for an id already added.
	ErrDuplicateBackend = errors.New("backend already added")
	// ErrBadWeight is returned by Add for a weight outside 1..MaxWeight.
	ErrBadWeight = fmt.Errorf("weight must be from 1 to %d", MaxWeight)
)

// MaxWeight is the largest weight a backend may have: HAProxy's limit
// (its "weight" is 0 to 256). Weights are relative, and a ratio beyond
// 256 to 1 is better served by removing the small backend; a bound keeps
// the sums and products of weights the algorithms make far from
// overflowing (a weight near math.MaxInt wrapped smooth weighted round
// robin's total below zero), and a ring's points (160 per unit of weight)
// few.
const MaxWeight = 256

// The ways Pick, PickExcept and PickNext fail, prepared once so that a pick
// allocates nothing even when it fails. They are declared as error: an
// errorWrap value would be copied into a new interface value at every
// return.
var (
	errEmpty      error = errorWrap{ErrNoBackend, "no backend available: the pool is empty"}
	errAllDown    error = errorWrap{ErrNoBackend, "no backend available: every backend is down"}
	errAllFull    error = errorWrap{ErrNoBackend, "no backend available: every backend up and not skipped is at its bounded-load capacity"}
	errAllSkipped error = errorWrap{ErrNoBackend, "no backend available: every backend up is skipped"}
)

// errorWrap is an error with its own message that still matches target
// with errors.Is.
type errorWrap struct {
	target error
	msg    string
}

func (e errorWrap) Error() string { return e.msg }
func (e errorWrap) Unwrap() error { return e.target }
