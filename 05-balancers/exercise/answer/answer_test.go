package answer_test

import (
	"testing"

	"github.com/gocourse/gateway/05-balancers/balancer"
	"github.com/gocourse/gateway/05-balancers/balancertest"
	"github.com/gocourse/gateway/05-balancers/exercise/answer"
)

// The model answers pass the very checks the exercises use
// (exercise_test.go): the exercises can be done.

func TestWeightedRandom(t *testing.T) {
	balancertest.TestBalancer(t, balancertest.Traits{Weighted: true}, func(opts balancer.Options) (balancer.Balancer, error) {
		return answer.NewWeightedRandom(opts), nil
	})
}

func TestRendezvous(t *testing.T) {
	balancertest.TestBalancer(t, balancertest.Traits{Hashed: true}, func(opts balancer.Options) (balancer.Balancer, error) {
		return answer.NewRendezvous(opts), nil
	})
}
