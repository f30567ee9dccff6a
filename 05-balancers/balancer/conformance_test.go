package balancer_test

import (
	"testing"

	"github.com/gocourse/gateway/05-balancers/balancer"
	"github.com/gocourse/gateway/05-balancers/balancertest"
)

// traits says which optional promises each balancer of the course makes.
var traits = map[string]balancertest.Traits{
	"random":     {},
	"roundrobin": {},
	"p2c":        {},
	"swrr":       {Weighted: true},
	"leastconn":  {Weighted: true},
	"chash":      {Weighted: true, Hashed: true},
	"bounded":    {Weighted: true, Hashed: true},
	"maglev":     {Weighted: true, Hashed: true},
}

// TestConformance runs the conformance suite on every balancer the
// factory builds.
func TestConformance(t *testing.T) {
	for _, name := range balancer.Names() {
		tr, ok := traits[name]
		if !ok {
			t.Errorf("balancer %q has no entry in traits: say which promises it makes", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			balancertest.TestBalancer(t, tr, func(opts balancer.Options) (balancer.Balancer, error) {
				return balancer.New(name, opts)
			})
		})
	}
}
