package meta

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Placer orders data servers by preference for one blob: the metadata
// server writes a blob's replicas to the first R servers of the order and
// moves down it past servers that fail. Ring is the course's; stage 05's
// consistent hash can stand in for it.
type Placer interface {
	Place(hash string, servers []string) []string
}

// Ring is a consistent hash ring with virtual nodes. Each server owns
// Replicas points on a circle of 2^64 positions; a blob's servers are
// the distinct owners of the points met walking clockwise from the blob's
// own position. When a server joins or leaves, only the blobs next to its
// points change hands.
//
// The set of live servers rarely changes, so Ring keeps the points it
// built for the last set and rebuilds only when the set changes. Use a
// *Ring; it is safe for concurrent use.
type Ring struct {
	Replicas int // virtual nodes per server; 0 means 64

	mu     sync.Mutex
	set    string  // the servers the points were built for, sorted and joined
	points []point // sorted by position
}

type point struct {
	pos    uint64
	server string
}

func position(s string) uint64 {
	sum := sha256.Sum256([]byte(s))
	return binary.BigEndian.Uint64(sum[:8])
}

// build returns the ring's points for servers.
func (r *Ring) build(servers []string) []point {
	sorted := slices.Sorted(slices.Values(servers))
	set := strings.Join(sorted, "\x00")
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.points != nil && set == r.set {
		return r.points
	}
	vnodes := r.Replicas
	if vnodes <= 0 {
		vnodes = 64
	}
	points := make([]point, 0, vnodes*len(sorted))
	for _, s := range sorted {
		for i := range vnodes {
			points = append(points, point{position(strconv.Itoa(i) + "#" + s), s})
		}
	}
	slices.SortFunc(points, func(a, b point) int {
		return cmp.Or(cmp.Compare(a.pos, b.pos), cmp.Compare(a.server, b.server))
	})
	r.set, r.points = set, points
	return points
}

// Place returns every server in ring order from hash clockwise.
func (r *Ring) Place(hash string, servers []string) []string {
	points := r.build(servers)
	if len(points) == 0 {
		return nil
	}
	start, _ := slices.BinarySearchFunc(points, position(hash), func(p point, pos uint64) int { return cmp.Compare(p.pos, pos) })
	order := make([]string, 0, len(servers))
	for i := range points {
		s := points[(start+i)%len(points)].server
		if !slices.Contains(order, s) {
			order = append(order, s)
			if len(order) == len(servers) {
				break
			}
		}
	}
	return order
}
