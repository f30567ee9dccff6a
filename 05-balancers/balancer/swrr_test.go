package balancer

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reference is nginx's smooth weighted round robin as its loop is written
// (ngx_http_upstream_get_peer), with no fast path: the yardstick the
// SmoothWeighted balancer is checked against. It shares only the Pool's
// health bookkeeping with the balancer.
type reference struct{ pool *Pool }

func (r *reference) pick() (string, bool) {
	p, now := r.pool, r.pool.Now()
	best, total := -1, 0
	for i := range p.Peers {
		if !p.Up(i, now) {
			continue
		}
		p.Peers[i].Current += p.Peers[i].Effective
		total += p.Peers[i].Effective
		if p.Peers[i].Effective < p.Peers[i].Weight {
			p.Peers[i].Effective++
		}
		if best == -1 || p.Peers[i].Current > p.Peers[best].Current {
			best = i
		}
	}
	if best == -1 {
		return "", false
	}
	p.Peers[best].Current -= total
	p.Picked(best, now)
	return p.Peers[best].ID, true
}

// fakeClock is a clock tests move by hand.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

// With health tracking off every backend is healthy for good, so the
// pool is as steady as with it on and the period is replayed too.
func TestSmoothWeightedNginxSequence(t *testing.T) {
	for name, health := range map[string]Health{
		"nginx's defaults":    {},
		"health tracking off": {MaxFails: -1},
	} {
		t.Run(name, func(t *testing.T) {
			b := NewSmoothWeighted(Options{Health: health})
			require.NoError(t, b.Add("a", 5))
			require.NoError(t, b.Add("b", 1))
			require.NoError(t, b.Add("c", 1))

			var got []string
			for range 7 * 20 { // 20 periods: the first ones on the loop, the rest replayed
				id, err := b.Pick("")
				require.NoError(t, err)
				b.Report(id, Success)
				got = append(got, id)
			}
			want := strings.Fields(strings.Repeat("a a b a c a a ", 20))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("picks for weights {a:5, b:1, c:1} (-want +got):\n%s", diff)
			}
			assert.True(t, b.period.valid, "after 20 steady periods the balancer should replay the recorded period")
		})
	}
}

// A backend added or removed while a period is being recorded (or after
// one is recorded) starts the recording again: the sequence stays
// nginx's, step for step. The backends are added in each of their six
// orders, since an order decides which index each one has in the
// recorded picks and round-0 weights.
func TestSmoothWeightedChangeWhileRecording(t *testing.T) {
	type backend struct {
		id     string
		weight int
	}
	orders := [][]backend{
		{{"a", 3}, {"b", 2}, {"c", 1}}, {{"a", 3}, {"c", 1}, {"b", 2}},
		{{"b", 2}, {"a", 3}, {"c", 1}}, {{"b", 2}, {"c", 1}, {"a", 3}},
		{{"c", 1}, {"a", 3}, {"b", 2}}, {{"c", 1}, {"b", 2}, {"a", 3}},
	}
	for _, order := range orders {
		for _, change := range []string{"add", "remove"} {
			for at := range 12 { // picks before the change: during and after the first recording
				clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
				opts := Options{Now: clock.Now}
				b := NewSmoothWeighted(opts)
				ref := &reference{pool: NewPool(opts)}
				for _, be := range order {
					require.NoError(t, b.Add(be.id, be.weight))
					require.NoError(t, ref.pool.Add(be.id, be.weight))
				}
				step := func(i int) {
					want, _ := ref.pick()
					got, err := b.Pick("")
					require.NoError(t, err)
					require.Equal(t, want, got, "backends %v, %s after %d picks: pick %d left nginx's sequence", order, change, at, i)
					b.Report(got, Success)
					ref.pool.Report(got, Success)
				}
				for i := range at {
					step(i)
				}
				if change == "add" {
					require.NoError(t, b.Add("d", 4))
					require.NoError(t, ref.pool.Add("d", 4))
				} else {
					require.NoError(t, b.Remove("b"))
					require.NoError(t, ref.pool.Remove("b"))
				}
				for i := range 40 {
					step(at + i)
				}
			}
		}
	}
}

// A change stops a recording, rather than letting it carry on into the
// changed pool. Weights a:3, b:2, c:1 from zero: the loop picks a b a,
// leaving Current a:-3 b:0 c:3. Remove b, whose Current is 0, and the
// next pick, c, brings a and c back to 0 0 after 4 picks, the new W: the
// weights held at index 0 and 1 when the recording began. A recording
// that went on through the removal would take its picks [a b a c], with
// b's slot now c's, for a period and replay a c a c instead of nginx's
// a a c a.
func TestSmoothWeightedRemoveStopsTheRecording(t *testing.T) {
	b := NewSmoothWeighted(Options{})
	require.NoError(t, b.Add("a", 3))
	require.NoError(t, b.Add("b", 2))
	require.NoError(t, b.Add("c", 1))
	got := picks(t, b, 3)
	require.NoError(t, b.Remove("b"))
	got = append(got, picks(t, b, 9)...)
	want := strings.Fields("a b a   c   a a c a   a a c a")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("picks with b removed after the third (-want +got):\n%s", diff)
	}
}

// W picks that do not bring the Current weights back to where they began
// are not a period: the balancer records again from there, and replays
// once a recording does come back. As above, a:3 b:2 c:1, three picks and
// b removed leave a:-3 c:3, a state the steady pool never returns to: the
// picks c a a c leave a:1 c:-1, and from there a a a c comes back to it.
func TestSmoothWeightedRecordsAgainWhenWPicksAreNotAPeriod(t *testing.T) {
	b := NewSmoothWeighted(Options{})
	require.NoError(t, b.Add("a", 3))
	require.NoError(t, b.Add("b", 2))
	require.NoError(t, b.Add("c", 1))
	picks(t, b, 3)
	require.NoError(t, b.Remove("b"))
	require.Equal(t, []int{-3, 3}, []int{b.pool.Peers[0].Current, b.pool.Peers[1].Current})
	assert.Equal(t, strings.Fields("c a a c"), picks(t, b, 4))
	assert.False(t, b.period.valid, "c a a c, from a:-3 c:3 to a:1 c:-1, was taken for a period")
	assert.Equal(t, strings.Fields("a a a c"), picks(t, b, 4))
	assert.True(t, b.period.valid, "a a a c, from a:1 c:-1 back to it, should be replayed")
	assert.Equal(t, []int32{0, 0, 0, 1}, b.period.picks)
}

// TestSmoothWeightedMatchesReference drives the balancer and the
// reference with the same random operations (picks, failures, successes,
// time passing, backends added and removed) and requires the same pick at
// every step, on both the replayed and the looping path.
func TestSmoothWeightedMatchesReference(t *testing.T) {
	replayed := 0
	for seed := range uint64(40) {
		r := rand.New(rand.NewPCG(seed, 7))
		clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		opts := Options{Health: Health{MaxFails: 1 + r.IntN(3), FailTimeout: 10 * time.Second}, Now: clock.Now}
		b := NewSmoothWeighted(opts)
		ref := &reference{pool: NewPool(opts)}
		add := func(id string, w int) {
			require.NoError(t, b.Add(id, w))
			require.NoError(t, ref.pool.Add(id, w))
		}
		n := 1 + r.IntN(30)
		for i := range n {
			add(fmt.Sprint("p", i), 1+r.IntN(10))
		}
		next := n
		// Stormy seeds fail often; calm ones rarely, so that long steady
		// stretches are replayed from a recorded period.
		failRate := []float64{0, 0.001, 0.02}[seed%3]

		for step := range 3000 {
			want, wantOK := ref.pick()
			got, err := b.Pick("")
			require.Equal(t, wantOK, err == nil, "seed %d step %d: reference ok=%v, balancer err=%v", seed, step, wantOK, err)
			require.Equal(t, want, got, "seed %d step %d: the balancer left nginx's sequence", seed, step)
			if b.period.valid {
				replayed++
			}
			if !wantOK {
				clock.now = clock.now.Add(11 * time.Second)
				continue
			}
			o := Success
			if r.Float64() < failRate {
				o = Failure
			}
			b.Report(got, o)
			ref.pool.Report(got, o)

			switch x := r.Float64(); {
			case x < failRate/4:
				clock.now = clock.now.Add(time.Duration(r.IntN(20)) * time.Second)
			case x < failRate/2:
				add(fmt.Sprint("p", next), 1+r.IntN(10))
				next++
			case x < failRate*3/4 && len(ref.pool.Peers) > 1:
				id := ref.pool.Peers[r.IntN(len(ref.pool.Peers))].ID
				require.NoError(t, b.Remove(id))
				require.NoError(t, ref.pool.Remove(id))
			}
		}
	}
	t.Logf("%d picks were replayed from a recorded period", replayed)
	assert.Greater(t, replayed, 40*1000, "the test should exercise the replayed path, not only the loop")
}

// Recording a period is spread over the loop's own picks, one round per
// pick, so no Pick costs more than O(n). An earlier version ran all W
// rounds in the one Pick that began replaying: O(W*n) with the lock held,
// 0.9 s for 1,000 backends of weight 256. Here 50 backends of weights up
// to 256: the period grows by at most one pick per Pick, and replay begins
// after exactly W picks of the loop.
func TestSmoothWeightedRecordsOneRoundPerPick(t *testing.T) {
	b := NewSmoothWeighted(Options{})
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 50 {
		require.NoError(t, b.Add(fmt.Sprint("p", i), 1+r.IntN(MaxWeight)))
	}
	w := b.pool.TotalWeight()
	looped := 0
	for n := range 2 * w {
		before, replaying := len(b.period.picks), b.period.valid
		id, err := b.Pick("")
		require.NoError(t, err)
		b.Report(id, Success)
		if replaying {
			continue
		}
		looped++
		grew := len(b.period.picks) - before
		require.LessOrEqual(t, grew, 1, "pick %d (weights adding up to %d) recorded %d rounds at once", n, w, grew)
	}
	assert.True(t, b.period.valid, "after 2W steady picks the balancer should replay a period")
	assert.Equal(t, w, looped, "replay should begin after exactly W = %d picks of the loop", w)
}

// A pool whose weights add up to more than maxPeriod is never recorded:
// the period would take more than 4 MiB, so every pick runs nginx's loop.
func TestSmoothWeightedRecordsNothingAboveMaxPeriod(t *testing.T) {
	b := NewSmoothWeighted(Options{})
	for i := 0; b.pool.TotalWeight() <= maxPeriod; i++ {
		require.NoError(t, b.Add(fmt.Sprint("p", i), MaxWeight))
	}
	for n := range 200 {
		id, err := b.Pick("")
		require.NoError(t, err)
		b.Report(id, Success)
		require.Empty(t, b.period.picks, "pick %d of a pool of total weight %d > maxPeriod was recorded", n, b.pool.TotalWeight())
	}
	assert.False(t, b.period.recording || b.period.valid, "a pool above maxPeriod should stay on the loop")
}

// Up to maxPeriod is recorded: 4,096 backends of weight 256 add up to
// exactly 2^20, whose period is recorded (and would be replayed after
// 2^20 picks, too many to make here).
func TestSmoothWeightedRecordsAPeriodOfMaxPeriod(t *testing.T) {
	b := NewSmoothWeighted(Options{})
	for i := range maxPeriod / MaxWeight {
		require.NoError(t, b.Add(fmt.Sprint("p", i), MaxWeight))
	}
	require.Equal(t, maxPeriod, b.pool.TotalWeight())
	id, err := b.Pick("")
	require.NoError(t, err)
	b.Report(id, Success)
	assert.True(t, b.period.recording, "a pool of total weight maxPeriod should be recorded")
	assert.Len(t, b.period.picks, 1, "picks recorded")
}

func TestSmoothWeightedFailureLowersEffectiveWeight(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	b := NewSmoothWeighted(Options{Health: Health{MaxFails: 3, FailTimeout: 10 * time.Second}, Now: clock.Now})
	require.NoError(t, b.Add("a", 6))
	require.NoError(t, b.Add("b", 1))

	b.Report("a", Failure) // weight/max_fails = 6/3 = 2 off per failure
	b.Report("a", Failure)
	assert.Equal(t, 2, b.pool.Peers[0].Effective, "after two failures, effective weight 6 - 2*2")

	// Then it climbs back one step per round.
	var effective []int
	for range 5 {
		id, err := b.Pick("")
		require.NoError(t, err)
		b.Report(id, Success)
		effective = append(effective, b.pool.Peers[0].Effective)
	}
	if diff := cmp.Diff([]int{3, 4, 5, 6, 6}, effective); diff != "" {
		t.Errorf("effective weight of a after each round (-want +got):\n%s", diff)
	}

	// It never goes below 0, as in nginx: from 6, three failures take it
	// to 0 (and a down), and a fourth, from a request already in flight,
	// leaves it there.
	for range 4 {
		b.Report("a", Failure)
	}
	assert.Equal(t, 0, b.pool.Peers[0].Effective, "after four more failures, effective weight max(6 - 4*2, 0)")
}

// BenchmarkNginxLoop is the reference loop alone, O(n) per pick: what
// SmoothWeighted would cost without its recorded period (compare with
// BenchmarkPick/swrr).
func BenchmarkNginxLoop(b *testing.B) {
	for _, n := range []int{3, 10, 100, 1000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			ref := &reference{pool: NewPool(Options{})}
			for i := range n {
				require.NoError(b, ref.pool.Add(fmt.Sprint("b", i), 1+i%3))
			}
			b.ReportAllocs()
			for b.Loop() {
				id, _ := ref.pick()
				ref.pool.Report(id, Success)
			}
		})
	}
}

// A replayed pick is a pick like the loop's: it counts the request in
// flight and, past fail_timeout, begins a new check, so that a success
// forgets an old failure. With max_fails 2 and weight 1, a failure leaves
// the effective weight as it was (1 - 1/2 is 1 in integers), so the pool
// is steady and replayed with a's failure still on record.
func TestSmoothWeightedForgetsOldFailuresWhileReplaying(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	b := NewSmoothWeighted(Options{Health: Health{MaxFails: 2, FailTimeout: 10 * time.Second}, Now: clock.Now})
	require.NoError(t, b.Add("a", 1))
	require.NoError(t, b.Add("b", 1))
	b.Report("a", Failure)
	wantPicks := func(n int, want []string) {
		t.Helper()
		if diff := cmp.Diff(want, picks(t, b, n)); diff != "" {
			t.Errorf("picks (-want +got):\n%s", diff)
		}
	}
	wantPicks(4, []string{"a", "b", "a", "b"})
	require.True(t, b.period.valid, "the pool should be replayed")
	id, err := b.Pick("")
	require.NoError(t, err)
	assert.Equal(t, 1, b.pool.InFlight(), "a replayed pick is in flight until reported")
	b.Report(id, Success)
	wantPicks(1, []string{"b"})
	clock.now = clock.now.Add(11 * time.Second)
	wantPicks(2, []string{"a", "b"}) // replayed; a's is a new check, and its success clears the failure
	b.Report("a", Failure)           // one failure since: a stays up
	wantPicks(4, []string{"a", "b", "a", "b"})
}

// While an effective weight climbs back after a failure, the rounds
// depend on more than the Current weights, so nothing is recorded: with
// a:4 and max_fails 4, a failure lowers a's effective weight to 3, still
// healthy, and the pick that raises it back is the loop's alone; the
// recording starts at the next.
func TestSmoothWeightedDoesNotRecordWhileAWeightRecovers(t *testing.T) {
	b := NewSmoothWeighted(Options{Health: Health{MaxFails: 4}})
	require.NoError(t, b.Add("a", 4))
	require.NoError(t, b.Add("b", 1))
	b.Report("a", Failure)
	require.Equal(t, 3, b.pool.Peers[0].Effective)
	id, err := b.Pick("")
	require.NoError(t, err)
	b.Report(id, Success)
	assert.False(t, b.period.recording, "a pick while a's effective weight was 3 of 4 was recorded")
	id, err = b.Pick("")
	require.NoError(t, err)
	b.Report(id, Success)
	assert.True(t, b.period.recording, "with every effective weight back, the next pick should be recorded")
}

// After a change the balancer goes back to the loop, records a new
// period from wherever the Current weights are, and replays again: a
// change costs W picks on the loop, not the fast path for good.
func TestSmoothWeightedReplaysAgainAfterAChange(t *testing.T) {
	b := NewSmoothWeighted(Options{})
	require.NoError(t, b.Add("a", 3))
	require.NoError(t, b.Add("b", 2))
	picks(t, b, 7) // into the period, so that the Currents are not all 0
	require.True(t, b.period.valid, "a steady pool should be replayed")
	for _, w := range []int{1, 4} {
		require.NoError(t, b.Add(fmt.Sprint("w", w), w))
		require.False(t, b.period.valid, "an Add must leave the period")
		looped := 0
		for ; !b.period.valid && looped < 4*b.pool.TotalWeight(); looped++ {
			picks(t, b, 1)
		}
		assert.True(t, b.period.valid, "after adding a backend of weight %d, %d picks and still on the loop", w, looped)
		assert.Len(t, b.period.picks, b.pool.TotalWeight(), "after adding a backend of weight %d, the period replayed is not W picks long", w)
	}
}

// picks makes n picks, reports each a success, and returns them in order:
// the steady traffic most of these tests drive the balancer with.
func picks(t *testing.T, b *SmoothWeighted, n int) []string {
	t.Helper()
	got := make([]string, 0, n)
	for range n {
		id, err := b.Pick("")
		require.NoError(t, err)
		b.Report(id, Success)
		got = append(got, id)
	}
	return got
}
