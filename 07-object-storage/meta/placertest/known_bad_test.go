package placertest

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/05-balancers/ring"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// Placers with plausible bugs, each of which the suite must fail. Each
// is right about a blob's first server; the bugs are elsewhere.

// cachedByCount keeps the ring it built and rebuilds it only when the
// number of servers changes: a server that goes down while another joins
// (same count) is still placed, and the newcomer never is.
type cachedByCount struct {
	mu    sync.Mutex
	n     int
	built []string
}

func (c *cachedByCount) Place(hash string, servers []string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.built == nil || len(servers) != c.n {
		c.n, c.built = len(servers), slices.Clone(servers)
	}
	return (&meta.Ring{}).Place(hash, c.built)
}

// restByName takes the first server from the ring and lists the others
// by name: every blob's second copy goes to the same server.
type restByName struct{}

func (restByName) Place(hash string, servers []string) []string {
	order := (&meta.Ring{}).Place(hash, servers)
	if len(order) == 0 {
		return order
	}
	rest := slices.Sorted(slices.Values(order[1:]))
	return append(order[:1], rest...)
}

// restModN takes the first server from the ring and the others by name
// rotated by the blob's hash modulo their number: balanced, but when a
// server joins or leaves the count changes, and most blobs' second and
// third servers change with it.
type restModN struct{}

func (restModN) Place(hash string, servers []string) []string {
	order := (&meta.Ring{}).Place(hash, servers)
	if len(order) < 2 {
		return order
	}
	rest := slices.Sorted(slices.Values(order[1:]))
	v, _ := strconv.ParseUint(hash[:8], 16, 64)
	k := int(v % uint64(len(rest)))
	return append(order[:1], append(rest[k:], rest[:k]...)...)
}

// unlockedCache keeps the ring it built for the last server set, as
// meta.Ring does, but without a lock: two goroutines placing for two
// sets rebuild it under each other.
type unlockedCache struct {
	set  string
	ring *ring.Ring
	n    int
}

func (c *unlockedCache) Place(hash string, servers []string) []string {
	set := strings.Join(slices.Sorted(slices.Values(servers)), ",")
	if c.ring == nil || c.set != set {
		c.ring, c.set, c.n = ring.New(0, nil), set, len(servers)
		for _, s := range servers {
			c.ring.Add(s, 1)
		}
	}
	return c.ring.GetN(hash, c.n)
}

// shuffled orders the servers at random (from a fixed seed, so that the
// test is repeatable): balanced, but a blob's order changes with every
// call, so its readers look for it where its writer did not put it.
type shuffled struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func (s *shuffled) Place(hash string, servers []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	order := slices.Clone(servers)
	s.rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	return order
}

var knownBad = map[string]meta.Placer{
	"shuffled":      &shuffled{rng: rand.New(rand.NewPCG(1, 2))},
	"unlockedCache": &unlockedCache{},
	"cachedByCount": &cachedByCount{},
	"restByName":    restByName{},
	"restModN":      restModN{},
}

// TestSuiteCatchesKnownBadPlacers runs the suite on each placer above, in
// a child test process since the suite must fail, and checks which of its
// checks fail.
func TestSuiteCatchesKnownBadPlacers(t *testing.T) {
	if name := os.Getenv("PLACERTEST_KNOWN_BAD"); name != "" {
		TestPlacer(t, knownBad[name])
		return
	}
	for name, want := range map[string][]string{
		"cachedByCount": {"FollowsTheServerSet", "MovesLittleWhenAServerJoins"},
		"restByName":    {"Balanced", "MovesLittleWhenAServerJoins", "MovesLittleWhenAServerLeaves"},
		"restModN":      {"MovesLittleWhenAServerJoins", "MovesLittleWhenAServerLeaves"},
		"unlockedCache": {"SafeForConcurrentUse"},
		"shuffled":      {"IgnoresInputOrder", "MovesLittleWhenAServerJoins", "MovesLittleWhenAServerLeaves", "SameOrderEveryTime"},
	} {
		t.Run(name, func(t *testing.T) {
			if name == "unlockedCache" && !raceEnabled {
				t.Skip("only the race detector reliably sees a cache shared without a lock: run with -race")
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestSuiteCatchesKnownBadPlacers$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), "PLACERTEST_KNOWN_BAD="+name)
			out, err := cmd.CombinedOutput()
			require.Error(t, err, "the suite passed %s:\n%s", name, out)
			var failed []string
			for _, m := range regexp.MustCompile(`--- FAIL: TestSuiteCatchesKnownBadPlacers/(\S+)`).FindAllStringSubmatch(string(out), -1) {
				failed = append(failed, m[1])
			}
			slices.Sort(failed)
			if diff := cmp.Diff(want, failed); diff != "" {
				t.Errorf("checks failed by %s (-want +got):\n%s\n%s", name, diff, out)
			}
		})
	}
}

// The course's placer passes the suite.
func TestRingPasses(t *testing.T) { TestPlacer(t, &meta.Ring{}) }
