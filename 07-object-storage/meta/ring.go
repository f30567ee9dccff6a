package meta

import (
	"slices"
	"strings"
	"sync"

	"github.com/gocourse/gateway/05-balancers/ring"
)

// Placer orders data servers by preference for one blob: the metadata
// server writes a blob's replicas to the first R servers of the order and
// moves down it past servers that fail.
type Placer interface {
	Place(hash string, servers []string) []string
}

// Ring places blobs with chapter 05's consistent hash ring: the servers'
// IDs are points on a circle, and a blob's servers are the distinct
// owners of the points met walking clockwise from the blob's hash
// (ring.GetN). When a server joins or leaves, only the blobs next to its
// points change hands.
//
// The set of live servers rarely changes, so Ring keeps the ring it built
// for the last set and rebuilds only when the set changes. Use a *Ring;
// it is safe for concurrent use (chapter 05's ring.Ring alone is not).
type Ring struct {
	Replicas int // virtual nodes per server; 0 means ring.DefaultReplicas

	mu   sync.Mutex
	set  string // the servers r was built for, sorted and joined
	ring *ring.Ring
}

// Place returns every server in ring order from hash clockwise.
func (r *Ring) Place(hash string, servers []string) []string {
	set := strings.Join(slices.Sorted(slices.Values(servers)), "\x00")
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ring == nil || set != r.set {
		r.ring = ring.New(r.Replicas, nil)
		for _, s := range servers {
			r.ring.Add(s, 1)
		}
		r.set = set
	}
	return r.ring.GetN(hash, len(servers))
}
