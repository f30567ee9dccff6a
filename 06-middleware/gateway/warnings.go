package gateway

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gocourse/gateway/06-middleware/config"
)

// configWarnings returns what cfg allows but should say out loud, at
// start, at each reload and in -check. First, each pool whose balancer
// ignores the weights its targets are given (unweighted): nginx's round
// robin is weighted, and a file written with nginx in mind would spread
// requests evenly without a word. Then each route whose rate limit keys
// clients by a header or a cookie. The client writes those itself, and
// one that sends a new value with each request gets a new bucket each
// time: X-Forwarded-For is only worth keying by behind a proxy of your
// own that sets it. Such files are taken (a rate limit keyed so is what
// a gateway behind a proxy of its own wants; a weight is a target's, and
// stays right when its pool's balancer changes), and the warning names
// the pool or the route.
func configWarnings(cfg *config.Config) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(cfg.Pools)) {
		p := cfg.Pools[name]
		if !unweighted[p.Balancer] {
			continue
		}
		if i := slices.IndexFunc(p.Targets, func(t config.Target) bool { return t.Weight != 1 }); i >= 0 {
			out = append(out, fmt.Sprintf("pool %q: %s ignores weights (targets[%d] has weight %d): each backend gets an equal share; swrr is the weighted round robin (nginx's)", name, p.Balancer, i, p.Targets[i].Weight))
		}
	}
	for _, r := range cfg.Routes {
		for _, m := range r.Middleware {
			o, ok := m.Options.(*RateLimitOptions)
			if !ok {
				continue
			}
			if kind, _, _ := strings.Cut(o.Key, ":"); kind == "header" || kind == "cookie" {
				out = append(out, fmt.Sprintf("route %q: rate-limit key %s is the client's to write: a client that sends a new value gets a new bucket; key by it only behind a proxy of your own that sets it (key: ip keys by the connection)", r.Name, o.Key))
			}
		}
	}
	return out
}

// unweighted are the balancers of stage 05 that take a weight and ignore
// it (balancer.Random and balancer.RoundRobin say so).
var unweighted = map[string]bool{"random": true, "roundrobin": true}
