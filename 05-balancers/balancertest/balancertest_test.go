package balancertest

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/05-balancers/balancer"
)

// panicky is a balancer whose Pick panics, as a learner's may (rand.IntN(0)
// with every backend down).
type panicky struct{ balancer.Balancer }

func (panicky) Pick(string) (string, error) { panic("invalid argument to IntN") }

// The suite's picks turn a panic into an error the check reports in words,
// instead of a stack trace that ends the test binary.
func TestTryPickRecoversAPanic(t *testing.T) {
	id, err := tryPick(panicky{}, "k")
	assert.Empty(t, id)
	require.EqualError(t, err, "Pick panicked: invalid argument to IntN")
	var p *panicError
	require.True(t, errors.As(err, &p))
	assert.Equal(t, "invalid argument to IntN", p.Value)
}
