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
	r := meta.NewRegistry(10*time.Second, 20*time.Second, c.Now)
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

// Silence makes a server suspect after the timeout and dead after the
// grace period on top; a heartbeat makes it alive again. A server never
// heard from is judged from the registry's start.
func TestRegistryStates(t *testing.T) {
	c := &clock{now: t0}
	r := meta.NewRegistry(10*time.Second, 20*time.Second, c.Now)
	r.Beat(meta.Heartbeat{ID: "a", Addr: "http://a"})
	states := func() []meta.State { return []meta.State{r.State("a"), r.State("never")} }
	assert.Equal(t, []meta.State{meta.Alive, meta.Alive}, states())
	c.Add(10 * time.Second)
	assert.Equal(t, []meta.State{meta.Alive, meta.Alive}, states(), "exactly the timeout is still alive")
	c.Add(time.Second)
	assert.Equal(t, []meta.State{meta.Suspect, meta.Suspect}, states())
	assert.Empty(t, r.Live(), "a suspect gets no writes")
	c.Add(19 * time.Second)
	assert.Equal(t, []meta.State{meta.Suspect, meta.Suspect}, states())
	c.Add(time.Second)
	assert.Equal(t, []meta.State{meta.Dead, meta.Dead}, states())
	r.Beat(meta.Heartbeat{ID: "a", Addr: "http://a2"})
	assert.Equal(t, meta.Alive, r.State("a"), "back from the dead")
	all := r.Servers()
	if assert.Len(t, all, 1) {
		assert.Equal(t, meta.Alive, all[0].State)
		assert.Equal(t, "http://a2", all[0].Addr)
		assert.Equal(t, c.Now(), all[0].LastBeat)
	}
}

func TestRing(t *testing.T) {
	placertest.TestPlacer(t, &meta.Ring{})
}

// A server that beats from another's address has taken its place (a new
// disk, so a new ID, on the same port): the one before is Suspect at
// once, not placed beside its successor as a second replica on the same
// machine, and Alive again only if it beats from somewhere.
func TestANewServerAtAnAddressDisplacesTheOldOne(t *testing.T) {
	c := &clock{now: t0}
	r := meta.NewRegistry(10*time.Second, 20*time.Second, c.Now)
	old := meta.Heartbeat{ID: "old", Addr: "http://a"}
	other := meta.Heartbeat{ID: "other", Addr: "http://b"}
	r.Beat(old)
	r.Beat(other)
	c.Add(time.Second)
	successor := meta.Heartbeat{ID: "new", Addr: "http://a"}
	r.Beat(successor)

	assert.Equal(t, []meta.Heartbeat{successor, other}, r.Live(), "one live server per address")
	assert.Equal(t, meta.Suspect, r.State("old"), "its copies still count until its grace ends")
	assert.Equal(t, meta.Alive, r.State("other"))
	id, ok := r.LiveID("http://a")
	assert.True(t, ok)
	assert.Equal(t, "new", id)

	c.Add(30 * time.Second)
	assert.Equal(t, meta.Dead, r.State("old"))

	moved := meta.Heartbeat{ID: "old", Addr: "http://c"}
	r.Beat(moved) // the old disk, back on another port
	assert.Equal(t, meta.Alive, r.State("old"))
	r.Beat(successor)
	assert.Equal(t, meta.Alive, r.State("old"), "a server elsewhere is not displaced by one at its old address")
}
