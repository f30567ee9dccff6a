package balancer

// Why replaying a period is exact.
//
// While the pool is steady (every peer healthy, so no peer is skipped, and
// every Effective equals its Weight, so no Effective changes), a round of
// nginx's loop is a fixed function of the peers' Current weights alone:
// add each Weight, pick the largest (the first on a tie), subtract the
// total W. Its picks are therefore fully determined by the Current weights
// at the start. If after W rounds the Current weights are back where they
// started, the next W rounds repeat the same picks, and so on forever.
//
// From all-zero weights this always happens, because each peer is picked
// exactly Weight times in W rounds (the property nginx's commit states):
// each Current gains W*Weight and loses W*Weight. Rather than rely on that
// for every state the pool can reach after failures, the balancer checks
// it. While the pool is steady it records the loop's own picks: it saves
// the Current weights when a steady stretch starts, appends each pick,
// and after W picks keeps them as the period only if the weights are back
// where they started (else it starts over from there). So recording costs
// each of those picks O(1), and no pick more than O(n); running W rounds
// of the loop in one pick, as an earlier version did, cost O(W*n) there
// (0.9 s for 1,000 backends of weight 256, with the lock held).
//
// Anything that can break steadiness (Add, Remove, a Failure) first calls
// leave, which stops recording, and writes back the Current weights the
// loop would have reached by then if a period was replayed, so the
// reference loop carries on from exactly the same state.

// maxPeriod bounds the memory of a recorded period (4 MiB): above it, for
// very large weights, the balancer stays on the O(n) loop.
const maxPeriod = 1 << 20

// period is one recorded period of a steady pool.
type period struct {
	valid     bool    // picks is a whole period: replay it
	recording bool    // picks is a period being recorded
	picks     []int32 // the peers picked in rounds 0..W-1 (so far, while recording)
	start     []int   // each peer's Current at round 0
	pos       int     // the round the next pick is
}

// steady reports whether the loop's rounds depend only on the Current
// weights: no peer can be skipped and no Effective weight can change.
func steady(p *Pool) bool {
	for i := range p.Peers {
		if !p.Healthy(i) || p.Peers[i].Effective != p.Peers[i].Weight {
			return false
		}
	}
	return true
}

// watch is called before each pick the loop makes: it starts recording
// when the pool is steady (saving the Current weights of round 0), and
// stops when it is not. It reports whether the pick is to be recorded.
func (pd *period) watch(p *Pool) bool {
	if !steady(p) || p.TotalWeight() > maxPeriod {
		pd.recording = false
		return false
	}
	if !pd.recording {
		pd.recording = true
		pd.start = pd.start[:0]
		for _, peer := range p.Peers {
			pd.start = append(pd.start, peer.Current)
		}
		pd.picks = pd.picks[:0]
	}
	return true
}

// add records the loop's pick i. After W picks, if every Current is back
// at its start, the picks are a period and replay begins; if not, the
// next pick starts recording again from there.
func (pd *period) add(p *Pool, i int) {
	pd.picks = append(pd.picks, int32(i))
	if len(pd.picks) < p.TotalWeight() {
		return
	}
	pd.recording = false
	for j, peer := range p.Peers {
		if peer.Current != pd.start[j] {
			return // not periodic from there
		}
	}
	pd.valid, pd.pos = true, 0
}

// next returns the peer picked in the current round and moves on.
func (pd *period) next() int {
	i := pd.picks[pd.pos]
	pd.pos++
	if pd.pos == len(pd.picks) {
		pd.pos = 0
	}
	return int(i)
}

// leave stops recording or replaying. A recording must not carry on
// into the changed pool: its picks and round-0 weights are indexed by the
// old peers, and the new pool's weights can come back to them by chance
// (a removed peer's Current was 0), so that picks of the old pool would
// be replayed (TestSmoothWeightedRemoveStopsTheRecording). After replay
// it writes back into the pool the Current weights the loop would have
// after pos rounds: each peer has gained pos*Weight and lost W for each
// time it was picked.
func (pd *period) leave(p *Pool) {
	pd.recording = false
	if !pd.valid {
		return
	}
	pd.valid = false
	w := len(pd.picks)
	for i := range p.Peers {
		p.Peers[i].Current = pd.start[i] + pd.pos*p.Peers[i].Weight
	}
	for _, i := range pd.picks[:pd.pos] {
		p.Peers[i].Current -= w
	}
}
