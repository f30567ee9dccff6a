package meta_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/07-object-storage/meta"
	"github.com/gocourse/gateway/07-object-storage/meta/placertest"
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

func TestRing(t *testing.T) {
	placertest.TestPlacer(t, &meta.Ring{})
}
