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
	a := meta.Heartbeat{ID: "a", Addr: "http://a"}
	b := meta.Heartbeat{ID: "b", Addr: "http://b", Free: 5}
	r.Beat(b)
	c.Add(6 * time.Second)
	r.Beat(a)
	assert.Equal(t, []meta.Heartbeat{a, b}, r.Live())

	c.Add(5 * time.Second) // b silent for 11s, a for 5s
	assert.Equal(t, []meta.Heartbeat{a}, r.Live())
	assert.False(t, r.IsLive("b"))
	assert.True(t, r.IsLive("a"))
	_, ok := r.LiveID("http://b")
	assert.False(t, ok, "a dead server has no live ID")
	id, ok := r.ID("http://b")
	assert.True(t, ok)
	assert.Equal(t, "b", id)
	addr, _ := r.Addr("b")
	assert.Equal(t, "http://b", addr, "a dead server's address is still known")

	r.Beat(meta.Heartbeat{ID: "b", Addr: "http://b2"}) // back, elsewhere
	assert.True(t, r.IsLive("b"))
	id, ok = r.LiveID("http://b2")
	assert.True(t, ok)
	assert.Equal(t, "b", id)
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
