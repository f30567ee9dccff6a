package balancertest

import (
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/05-balancers/balancer"
	"github.com/gocourse/gateway/05-balancers/ring"
)

// forgetsPicked is round robin over the backends up, whose Pick does not
// call Pool.Picked: no request is counted in flight, and a probe begins
// no check.
type forgetsPicked struct {
	neighbourTakesAll
	next int
}

func (b *forgetsPicked) Pick(string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.pool.Now()
	for k := range len(b.pool.Peers) {
		i := (b.next + k) % len(b.pool.Peers)
		if b.pool.Up(i, now) {
			b.next = i + 1
			return b.pool.Peers[i].ID, nil
		}
	}
	return "", balancer.ErrNoBackend
}

// uniform draws among the backends up, ignoring their weights.
type uniform struct{ neighbourTakesAll }

func (b *uniform) Pick(string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.pool.Now()
	var up []int
	for i := range b.pool.Peers {
		if b.pool.Up(i, now) {
			up = append(up, i)
		}
	}
	if len(up) == 0 {
		return "", balancer.ErrNoBackend
	}
	i := up[b.rand.IntN(len(up))]
	b.pool.Picked(i, now)
	return b.pool.Peers[i].ID, nil
}

// modulo hashes a key to hash(key) % n, and walks on to the next backend
// up in the pool's order: the hash the chapter's pitfall warns against.
type modulo struct{ neighbourTakesAll }

func (b *modulo) Pick(key string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(b.pool.Peers)
	if n == 0 {
		return "", balancer.ErrNoBackend
	}
	now := b.pool.Now()
	start := int(ring.FNV(key) % uint64(n))
	for k := range n {
		if i := (start + k) % n; b.pool.Up(i, now) {
			b.pool.Picked(i, now)
			return b.pool.Peers[i].ID, nil
		}
	}
	return "", balancer.ErrNoBackend
}

// noFailover is consistent hashing that never fails over: a key goes to
// its backend on the ring, up or down.
type noFailover struct {
	neighbourTakesAll
	ring *ring.Ring
}

func (b *noFailover) Add(id string, w int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.pool.Add(id, w); err != nil {
		return err
	}
	b.ring.Add(id, w)
	return nil
}

func (b *noFailover) Remove(id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.pool.Remove(id); err != nil {
		return err
	}
	b.ring.Remove(id)
	return nil
}

func (b *noFailover) Pick(key string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ring.Len() == 0 {
		return "", balancer.ErrNoBackend
	}
	i, _ := b.pool.Index(b.ring.Node(b.ring.Search(key)))
	b.pool.Picked(i, b.pool.Now())
	return b.pool.Peers[i].ID, nil
}

// firstUp always picks the first backend up.
type firstUp struct{ neighbourTakesAll }

func (b *firstUp) Pick(string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.pool.Now()
	for i := range b.pool.Peers {
		if b.pool.Up(i, now) {
			b.pool.Picked(i, now)
			return b.pool.Peers[i].ID, nil
		}
	}
	return "", balancer.ErrNoBackend
}

// tenDraws draws a backend uniformly, draws again while the draw is down,
// and gives up after ten draws: the limit nginx's random puts on its
// draws (20), without the round robin nginx falls back on.
type tenDraws struct{ neighbourTakesAll }

func (b *tenDraws) Pick(string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(b.pool.Peers)
	if n == 0 {
		return "", balancer.ErrNoBackend
	}
	now := b.pool.Now()
	for range 10 {
		if i := b.rand.IntN(n); b.pool.Up(i, now) {
			b.pool.Picked(i, now)
			return b.pool.Peers[i].ID, nil
		}
	}
	return "", balancer.ErrNoBackend
}

// noError is round robin that answers "no backend" with no error.
type noError struct{ balancer.Balancer }

func (b noError) Pick(key string) (string, error) {
	id, err := b.Balancer.Pick(key)
	if errors.Is(err, balancer.ErrNoBackend) {
		return "", nil
	}
	return id, err
}

// addAlwaysWorks is round robin whose Add reports no error.
type addAlwaysWorks struct{ balancer.Balancer }

func (b addAlwaysWorks) Add(id string, w int) error {
	b.Balancer.Add(id, w) //nolint:errcheck // the mistake
	return nil
}

// removeDoesNothing is round robin whose Remove keeps the backend.
type removeDoesNothing struct{ balancer.Balancer }

func (removeDoesNothing) Remove(string) error { return nil }

// TestSuiteCatchesKnownBadBalancers runs the suite on balancers with the
// mistakes its checks are there for, each in a child test process since
// the suite must fail, and checks which checks fail: exactly those that
// name the mistake, so that a check that cannot fail is seen.
func TestSuiteCatchesKnownBadBalancers(t *testing.T) {
	bad := map[string]struct {
		traits Traits
		f      func(p *balancer.Pool, r *rand.Rand, opts balancer.Options) balancer.Balancer
		fails  []string
	}{
		"forgets Pool.Picked": {Traits{}, func(p *balancer.Pool, r *rand.Rand, _ balancer.Options) balancer.Balancer {
			return &forgetsPicked{neighbourTakesAll: neighbourTakesAll{pool: p, rand: r}}
		}, []string{"OneProbeAtATime"}},
		"ignores health": {Traits{Weighted: true}, func(p *balancer.Pool, r *rand.Rand, _ balancer.Options) balancer.Balancer {
			return &ignoresDown{neighbourTakesAll{pool: p, rand: r}}
		}, []string{"AllDown", "DownSkippedAndReadmitted", "EvenSpreadWhileOneIsDown", "FailedProbeKeepsDown", "OneProbeAtATime", "OnlyOneUp", "WeightsRespectedWhileOneIsDown"}},
		"ignores weights": {Traits{Weighted: true}, func(p *balancer.Pool, r *rand.Rand, _ balancer.Options) balancer.Balancer {
			return &uniform{neighbourTakesAll{pool: p, rand: r}}
		}, []string{"WeightsRespected", "WeightsRespectedWhileOneIsDown"}},
		"hash modulo n": {Traits{Hashed: true}, func(p *balancer.Pool, r *rand.Rand, _ balancer.Options) balancer.Balancer {
			return &modulo{neighbourTakesAll{pool: p, rand: r}}
		}, []string{"AddMovesAboutOneNth", "EvenSpreadWhileOneIsDown", "RemoveMovesAboutOneNth"}},
		"hashes but never fails over": {Traits{Hashed: true}, func(p *balancer.Pool, r *rand.Rand, _ balancer.Options) balancer.Balancer {
			return &noFailover{neighbourTakesAll: neighbourTakesAll{pool: p, rand: r}, ring: ring.New(ring.DefaultReplicas, ring.FNV)}
		}, []string{"AllDown", "DownMovesOnlyItsKeys", "DownSkippedAndReadmitted", "EvenSpreadWhileOneIsDown", "FailedProbeKeepsDown", "OneProbeAtATime", "OnlyOneUp"}},
		"ignores the key": {Traits{Hashed: true}, func(p *balancer.Pool, r *rand.Rand, _ balancer.Options) balancer.Balancer {
			return &uniform{neighbourTakesAll{pool: p, rand: r}}
		}, []string{"AddMovesAboutOneNth", "DownMovesOnlyItsKeys", "RemoveMovesAboutOneNth", "SameKeySticks"}},
		"always the first": {Traits{}, func(p *balancer.Pool, r *rand.Rand, _ balancer.Options) balancer.Balancer {
			return &firstUp{neighbourTakesAll{pool: p, rand: r}}
		}, []string{"DownSkippedAndReadmitted", "EvenSpread", "EvenSpreadWhileOneIsDown", "EveryBackendPicked", "FailedProbeKeepsDown", "OneProbeAtATime"}},
		"gives up after ten draws": {Traits{}, func(p *balancer.Pool, r *rand.Rand, _ balancer.Options) balancer.Balancer {
			return &tenDraws{neighbourTakesAll{pool: p, rand: r}}
		}, []string{"OnlyOneUp"}},
		"no error for no backend": {Traits{}, func(_ *balancer.Pool, _ *rand.Rand, opts balancer.Options) balancer.Balancer {
			return noError{balancer.NewRoundRobin(opts)}
		}, []string{"AllDown", "EmptyPool"}},
		"Add reports no error": {Traits{}, func(_ *balancer.Pool, _ *rand.Rand, opts balancer.Options) balancer.Balancer {
			return addAlwaysWorks{balancer.NewRoundRobin(opts)}
		}, []string{"BadAddAndRemove"}},
		"Remove does nothing": {Traits{}, func(_ *balancer.Pool, _ *rand.Rand, opts balancer.Options) balancer.Balancer {
			return removeDoesNothing{balancer.NewRoundRobin(opts)}
		}, []string{"BadAddAndRemove", "ConcurrentPicks", "EmptyPool", "StrayReports"}},
	}
	if name := os.Getenv("BALANCERTEST_KNOWN_BAD_SUITE"); name != "" {
		b := bad[name]
		TestBalancer(t, b.traits, func(opts balancer.Options) (balancer.Balancer, error) {
			return b.f(balancer.NewPool(opts), rand.New(opts.Rand), opts), nil
		})
		return
	}
	for name, b := range bad {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestSuiteCatchesKnownBadBalancers$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), "BALANCERTEST_KNOWN_BAD_SUITE="+name)
			out, err := cmd.CombinedOutput()
			require.Error(t, err, "the suite passed a balancer that %s:\n%s", name, out)
			var failed []string
			for _, m := range regexp.MustCompile(`--- FAIL: \S+/(\S+)`).FindAllStringSubmatch(string(out), -1) {
				failed = append(failed, m[1])
			}
			sort.Strings(failed)
			if diff := cmp.Diff(b.fails, failed); diff != "" {
				t.Errorf("failed checks (-want +got):\n%s\n%s", diff, out)
			}
		})
	}
}
