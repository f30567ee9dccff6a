package balancertest

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/05-balancers/balancer"
)

// neighbourTakesAll is a weighted random balancer with a plausible bug:
// it draws from the total weight of every backend, down ones included,
// and when the draw lands on a down backend it takes the next live one.
// It never returns a down backend, and with every backend up it is
// correct, so only a check of the shares while one is down sees that the
// down backend's share all goes to one neighbour.
type neighbourTakesAll struct {
	mu   sync.Mutex
	pool *balancer.Pool
	rand *rand.Rand
}

func (b *neighbourTakesAll) Pick(string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.pool.Now()
	if b.pool.UpWeight(now) == 0 {
		return "", balancer.ErrNoBackend
	}
	r := b.rand.IntN(b.pool.TotalWeight())
	n := len(b.pool.Peers)
	i := 0
	for ; r >= b.pool.Peers[i].Weight; i++ {
		r -= b.pool.Peers[i].Weight
	}
	for !b.pool.Up(i, now) {
		i = (i + 1) % n
	}
	b.pool.Picked(i, now)
	return b.pool.Peers[i].ID, nil
}

func (b *neighbourTakesAll) Add(id string, w int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pool.Add(id, w)
}

func (b *neighbourTakesAll) Remove(id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pool.Remove(id)
}

func (b *neighbourTakesAll) Report(id string, o balancer.Outcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pool.Report(id, o)
}

// TestSuiteCatchesADownBackendsShareGoingToOneNeighbour runs the suite on
// neighbourTakesAll, in a child test process since the suite must fail,
// and checks that exactly the two checks of shares while a backend is
// down fail: every other check passes it.
func TestSuiteCatchesADownBackendsShareGoingToOneNeighbour(t *testing.T) {
	if os.Getenv("BALANCERTEST_KNOWN_BAD") == "1" {
		TestBalancer(t, Traits{Weighted: true}, func(opts balancer.Options) (balancer.Balancer, error) {
			return &neighbourTakesAll{pool: balancer.NewPool(opts), rand: rand.New(opts.Rand)}, nil
		})
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSuiteCatchesADownBackendsShareGoingToOneNeighbour$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "BALANCERTEST_KNOWN_BAD=1")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the suite passed a balancer that gives a down backend's share to its neighbour:\n%s", out)
	var failed []string
	for _, m := range regexp.MustCompile(`--- FAIL: \S+/(\S+)`).FindAllStringSubmatch(string(out), -1) {
		failed = append(failed, m[1])
	}
	sort.Strings(failed)
	if diff := cmp.Diff([]string{"EvenSpreadWhileOneIsDown", "WeightsRespectedWhileOneIsDown"}, failed); diff != "" {
		t.Errorf("failed checks (-want +got):\n%s\n%s", diff, out)
	}
}

// ignoresDown is a weighted random balancer that forgets health: it draws
// from every backend, down ones included.
type ignoresDown struct{ neighbourTakesAll }

func (b *ignoresDown) Pick(string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pool.Peers) == 0 {
		return "", balancer.ErrNoBackend
	}
	r := b.rand.IntN(b.pool.TotalWeight())
	i := 0
	for ; r >= b.pool.Peers[i].Weight; i++ {
		r -= b.pool.Peers[i].Weight
	}
	b.pool.Picked(i, b.pool.Now())
	return b.pool.Peers[i].ID, nil
}

// TestSharesCheckSaysADownBackendIsDown runs the shares checks on
// ignoresDown, in a child test process since they must fail, and checks
// that they call the backend that is down "down", not "weight 0": its
// weight is 3 (in WeightsRespectedWhileOneIsDown) or 1.
func TestSharesCheckSaysADownBackendIsDown(t *testing.T) {
	if os.Getenv("BALANCERTEST_IGNORES_DOWN") == "1" {
		s := suite{f: func(opts balancer.Options) (balancer.Balancer, error) {
			return &ignoresDown{neighbourTakesAll{pool: balancer.NewPool(opts), rand: rand.New(opts.Rand)}}, nil
		}}
		t.Run("WeightsRespectedWhileOneIsDown", s.weightsRespectedWhileOneIsDown)
		t.Run("EvenSpreadWhileOneIsDown", s.evenSpreadWhileOneIsDown)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSharesCheckSaysADownBackendIsDown$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "BALANCERTEST_IGNORES_DOWN=1")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the shares checks passed a balancer that picks down backends:\n%s", out)
	for _, want := range []string{"backend c is down, yet it got ", "backend b is down, yet it got "} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the output does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "weight 0") {
		t.Errorf("the output calls a down backend's weight 0:\n%s", out)
	}
}

// drawsFromZero is exercise 1's weighted random with its likeliest
// mistake: it draws below the live weight without checking that the
// weight is above 0, and rand's IntN(0) panics when every backend is down.
type drawsFromZero struct{ neighbourTakesAll }

func (b *drawsFromZero) Pick(string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.pool.Now()
	r := b.rand.IntN(b.pool.UpWeight(now))
	for i := range b.pool.Peers {
		if !b.pool.Up(i, now) {
			continue
		}
		if r < b.pool.Peers[i].Weight {
			b.pool.Picked(i, now)
			return b.pool.Peers[i].ID, nil
		}
		r -= b.pool.Peers[i].Weight
	}
	return "", balancer.ErrNoBackend
}

// TestAllDownReportsAPanicInWords runs AllDown on drawsFromZero, in a
// child test process since it must fail, and checks that the failure is
// the sentence the chapter's exercise 1 quotes, not a stack trace.
func TestAllDownReportsAPanicInWords(t *testing.T) {
	if os.Getenv("BALANCERTEST_DRAWS_FROM_ZERO") == "1" {
		s := suite{f: func(opts balancer.Options) (balancer.Balancer, error) {
			return &drawsFromZero{neighbourTakesAll{pool: balancer.NewPool(opts), rand: rand.New(opts.Rand)}}, nil
		}}
		t.Run("AllDown", s.allDown)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAllDownReportsAPanicInWords$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "BALANCERTEST_DRAWS_FROM_ZERO=1")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "AllDown passed a balancer whose Pick panics when every backend is down:\n%s", out)
	want := "Pick panicked when every backend was down: invalid argument to IntN"
	if !strings.Contains(string(out), want) {
		t.Errorf("the output does not say %q:\n%s", want, out)
	}
	if strings.Contains(string(out), "goroutine ") {
		t.Errorf("the output has a stack trace:\n%s", out)
	}
}
