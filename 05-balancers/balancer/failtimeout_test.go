package balancer_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/05-balancers/balancer"
)

// A negative FailTimeout put a backend back before it had failed: every
// failure was forgotten at once, and health tracking was off without a
// word. Its callers refused it; the package does too now, as ErrBadOption,
// and leaves "off" to a negative MaxFails.
func TestNegativeFailTimeoutIsRefused(t *testing.T) {
	opts := balancer.Options{Health: balancer.Health{MaxFails: 1, FailTimeout: -time.Second}}
	for _, name := range balancer.Names() {
		b, err := balancer.New(name, opts)
		assert.Nil(t, b, name)
		assert.ErrorIs(t, err, balancer.ErrBadOption, name)
		assert.EqualError(t, err, name+": the fail timeout must not be negative (0 for the default, 10s; a negative MaxFails turns health tracking off), got -1s")
	}
	_, err := balancer.NewConsistentHash(opts)
	assert.ErrorIs(t, err, balancer.ErrBadOption, "NewConsistentHash")
	_, err = balancer.NewBoundedLoad(opts)
	assert.ErrorIs(t, err, balancer.ErrBadOption, "NewBoundedLoad")
	_, err = balancer.NewMaglev(opts)
	assert.ErrorIs(t, err, balancer.ErrBadOption, "NewMaglev")
	// The constructors without an error result cannot return it: they
	// panic with it rather than build a balancer that never takes a
	// backend out.
	for name, build := range map[string]func(){
		"NewPool":       func() { balancer.NewPool(opts) },
		"NewRoundRobin": func() { balancer.NewRoundRobin(opts) },
		"NewRandom":     func() { balancer.NewRandom(opts) },
	} {
		assert.True(t, panicsWith(build, balancer.ErrBadOption), "%s did not panic with ErrBadOption", name)
	}
	for _, fine := range []time.Duration{0, time.Nanosecond, 10 * time.Second} {
		_, err := balancer.New("roundrobin", balancer.Options{Health: balancer.Health{FailTimeout: fine}})
		assert.NoError(t, err, "%v", fine)
	}
}

// panicsWith reports whether f panics with an error that matches target.
func panicsWith(f func(), target error) (ok bool) {
	defer func() {
		err, isErr := recover().(error)
		ok = isErr && errors.Is(err, target)
	}()
	f()
	return false
}
