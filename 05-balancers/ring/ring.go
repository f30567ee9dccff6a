// Package ring is a consistent hash ring with virtual nodes (Karger et al.,
// 1997). Nodes and keys are hashed onto the same circle of 2^64 points; a
// key belongs to the first node point at or after its own, going clockwise.
// Adding or removing a node moves only the keys between that node's points
// and their predecessors: about 1/N of them, where a modulo hash
// (hash(key) % N) would move almost all.
//
// Each node is placed at many points (virtual nodes), so that its share of
// the circle, and of the keys, is close to 1/N; a node of weight w gets w
// times as many. Lookups are a binary search over the sorted points.
//
// A Ring is not safe for concurrent use: guard it with a mutex, as the
// balancer package does.
package ring

import (
	"cmp"
	"slices"
	"strconv"
)

// DefaultReplicas is the number of virtual nodes per unit of weight when
// New is given 0. With 160 points per node the share of keys each node gets
// is typically within about 10% of the average.
const DefaultReplicas = 160

// Ring maps keys to nodes.
type Ring struct {
	replicas int
	hash     Hash
	points   []point        // sorted by hash, then by node name
	weights  map[string]int // node -> weight
}

// point is one virtual node: a position on the circle and its owner.
type point struct {
	hash uint64
	node string
}

// New returns an empty ring that places replicas virtual nodes per unit of
// weight for each node, hashed with hash. Zero values pick DefaultReplicas
// and FNV.
func New(replicas int, hash Hash) *Ring {
	if replicas <= 0 {
		replicas = DefaultReplicas
	}
	if hash == nil {
		hash = FNV
	}
	return &Ring{replicas: replicas, hash: hash, weights: map[string]int{}}
}

// Add places node on the ring with weight (at least 1) times the replicas
// virtual nodes. Adding a node that is already there changes its weight.
func (r *Ring) Add(node string, weight int) {
	weight = max(weight, 1)
	if _, ok := r.weights[node]; ok {
		r.Remove(node)
	}
	r.weights[node] = weight
	added := make([]point, r.replicas*weight)
	for i := range added {
		added[i] = point{r.hash(node + "#" + strconv.Itoa(i)), node}
	}
	slices.SortFunc(added, comparePoints)
	r.points = merge(r.points, added)
}

// comparePoints orders points by hash. Ties are broken by node name so
// that every process builds the same ring whatever order nodes were added in.
func comparePoints(a, b point) int {
	return cmp.Or(cmp.Compare(a.hash, b.hash), cmp.Compare(a.node, b.node))
}

// merge returns the sorted union of two sorted slices in O(len(a)+len(b)),
// so that adding the N-th node does not re-sort the whole ring.
func merge(a, b []point) []point {
	out := make([]point, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if comparePoints(a[0], b[0]) <= 0 {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// Remove takes node and all its virtual nodes off the ring.
func (r *Ring) Remove(node string) {
	if _, ok := r.weights[node]; !ok {
		return
	}
	delete(r.weights, node)
	r.points = slices.DeleteFunc(r.points, func(p point) bool { return p.node == node })
}

// Nodes returns the number of nodes on the ring.
func (r *Ring) Nodes() int { return len(r.weights) }

// Len returns the number of points (virtual nodes) on the ring.
func (r *Ring) Len() int { return len(r.points) }

// Search returns the index of the first point clockwise from key's hash:
// a binary search, O(log Len). The ring must not be empty.
func (r *Ring) Search(key string) int {
	h := r.hash(key)
	i, _ := slices.BinarySearchFunc(r.points, h, func(p point, h uint64) int { return cmp.Compare(p.hash, h) })
	if i == len(r.points) {
		i = 0 // past the last point: wrap around to the first
	}
	return i
}

// Node returns the owner of point i; i wraps around, so Node(Search(k)+1)
// is the next point clockwise.
func (r *Ring) Node(i int) string { return r.points[i%len(r.points)].node }

// Get returns the node key belongs to, or false if the ring is empty.
func (r *Ring) Get(key string) (string, bool) {
	if len(r.points) == 0 {
		return "", false
	}
	return r.Node(r.Search(key)), true
}

// GetN returns up to n distinct nodes, in clockwise order from key: the
// node Get returns, then the next different node, and so on. A store that
// keeps R replicas of a blob places them on GetN(name, R); when a node
// fails, the next one in this order takes over.
func (r *Ring) GetN(key string, n int) []string {
	n = min(n, len(r.weights))
	if n <= 0 {
		return nil
	}
	nodes := make([]string, 0, n)
	for i, start := 0, r.Search(key); i < len(r.points) && len(nodes) < n; i++ {
		if node := r.Node(start + i); !slices.Contains(nodes, node) {
			nodes = append(nodes, node)
		}
	}
	return nodes
}
