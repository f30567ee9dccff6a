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
// for every state the pool can reach after failures, record checks it: it
// runs the loop W times on a copy and keeps the period only if the weights
// come back to where they started.
//
// Anything that can break steadiness (Add, Remove, a Failure) first calls
// leave, which writes back the Current weights the loop would have reached
// by then, so the reference loop carries on from exactly the same state.

// maxPeriod bounds the memory of a recorded period (4 MiB): above it, for
// very large weights, the balancer stays on the O(n) loop.
const maxPeriod = 1 << 20

// period is one recorded period of a steady pool.
type period struct {
	valid bool
	picks []int32 // the peers picked in rounds 0..W-1
	start []int   // each peer's Current when the period was recorded
	pos   int     // the round the next pick is
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

// record runs W rounds of the loop on a copy of the Current weights and
// keeps them as the period if the weights return to their start.
func (pd *period) record(p *Pool) {
	w := p.TotalWeight()
	if w > maxPeriod {
		return
	}
	pd.start = pd.start[:0]
	for _, peer := range p.Peers {
		pd.start = append(pd.start, peer.Current)
	}
	current := append([]int(nil), pd.start...)
	pd.picks = pd.picks[:0]
	for range w {
		best := 0
		for i, peer := range p.Peers {
			current[i] += peer.Weight
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= w
		pd.picks = append(pd.picks, int32(best))
	}
	for i := range current {
		if current[i] != pd.start[i] {
			return // not periodic from here: stay on the loop
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

// leave stops replaying and writes back into the pool the Current weights
// the loop would have after pos rounds: each peer has gained pos*Weight
// and lost W for each time it was picked.
func (pd *period) leave(p *Pool) {
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
