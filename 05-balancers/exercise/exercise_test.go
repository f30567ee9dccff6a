//go:build exercise

package exercise_test

import (
	"testing"

	"github.com/gocourse/gateway/05-balancers/balancer"
	"github.com/gocourse/gateway/05-balancers/balancertest"
	"github.com/gocourse/gateway/05-balancers/exercise"
)

func TestWeightedRandom(t *testing.T) {
	balancertest.TestBalancer(t, balancertest.Traits{Weighted: true}, func(opts balancer.Options) (balancer.Balancer, error) {
		return exercise.NewWeightedRandom(opts), nil
	})
}

func TestRendezvous(t *testing.T) {
	balancertest.TestBalancer(t, balancertest.Traits{Hashed: true}, func(opts balancer.Options) (balancer.Balancer, error) {
		return exercise.NewRendezvous(opts), nil
	})
}
