package meta_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/07-object-storage/meta"
)

// clock is a settable clock for tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestRegistryLiveness(t *testing.T) {
	c := &clock{now: t0}
	r := meta.NewRegistry(10*time.Second, c.Now)
	r.Beat(meta.Heartbeat{Addr: "http://b", Free: 5})
	c.Add(6 * time.Second)
	r.Beat(meta.Heartbeat{Addr: "http://a"})
	assert.Equal(t, []meta.Heartbeat{{Addr: "http://a"}, {Addr: "http://b", Free: 5}}, r.Live())

	c.Add(5 * time.Second) // b silent for 11s, a for 5s
	assert.Equal(t, []meta.Heartbeat{{Addr: "http://a"}}, r.Live())
	assert.False(t, r.IsLive("http://b"))
	assert.True(t, r.IsLive("http://a"))

	r.Beat(meta.Heartbeat{Addr: "http://b"}) // back from the dead
	assert.True(t, r.IsLive("http://b"))
}

func servers(n int) []string {
	var s []string
	for i := range n {
		s = append(s, fmt.Sprintf("http://127.0.0.1:%d", 9100+i))
	}
	return s
}

func TestRingPlacesEveryServerOnce(t *testing.T) {
	s := servers(5)
	order := meta.Ring{}.Place(string(h("x")), s)
	assert.ElementsMatch(t, s, order)
	assert.Equal(t, order, meta.Ring{}.Place(string(h("x")), reversed(s)), "the order must not depend on the input order")
}

func reversed(s []string) []string {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

// When a server leaves, only blobs it held change places: every other
// blob keeps its first choice.
func TestRingMovesLittleWhenAServerLeaves(t *testing.T) {
	all := servers(5)
	gone := all[2]
	rest := slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == gone })
	moved, owned := 0, map[string]int{}
	for i := range 1000 {
		key := string(h(fmt.Sprint(i)))
		before := meta.Ring{}.Place(key, all)[0]
		after := meta.Ring{}.Place(key, rest)[0]
		owned[before]++
		if before != after {
			moved++
			assert.Equal(t, gone, before, "a blob moved although its server stayed")
		}
	}
	assert.Equal(t, owned[gone], moved)
	for _, s := range all {
		assert.Greater(t, owned[s], 100, "server %s owns too few of 1000 blobs: the ring is badly unbalanced", s)
	}
}
