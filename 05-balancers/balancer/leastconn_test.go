package balancer

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// nginxLeastConn is nginx's least_conn as its function is written
// (ngx_http_upstream_get_least_conn_peer), with no shortcut: the least
// in-flight/weight ratio by cross multiplication, the first such peer
// winning, and a tie broken by one round of smooth weighted round robin
// among the tied peers from the first of them on, its comparisons made
// against the current best. It shares only the Pool's health and
// in-flight bookkeeping with the balancer.
func nginxLeastConn(p *Pool) (string, bool) {
	now := p.Now()
	best, many, first := -1, false, 0
	for i := range p.Peers {
		if !p.Up(i, now) {
			continue
		}
		peer, b := &p.Peers[i], &p.Peers[max(best, 0)]
		switch {
		case best < 0 || peer.InFlight*b.Weight < b.InFlight*peer.Weight:
			best, many, first = i, false, i
		case peer.InFlight*b.Weight == b.InFlight*peer.Weight:
			many = true
		}
	}
	if best < 0 {
		return "", false
	}
	if many {
		total := 0
		for i := first; i < len(p.Peers); i++ {
			peer, b := &p.Peers[i], &p.Peers[best]
			if !p.Up(i, now) || peer.InFlight*b.Weight != b.InFlight*peer.Weight {
				continue
			}
			peer.Current += peer.Effective
			total += peer.Effective
			if peer.Effective < peer.Weight {
				peer.Effective++
			}
			if peer.Current > b.Current {
				best = i
			}
		}
		p.Peers[best].Current -= total
	}
	p.Picked(best, now)
	return p.Peers[best].ID, true
}

// TestLeastConnMatchesNginx drives LeastConn and nginx's least_conn with
// the same random operations (picks whose requests stay in flight for a
// while, failures that lower effective weights and take backends down,
// time passing) and requires the same pick at every step.
func TestLeastConnMatchesNginx(t *testing.T) {
	for seed := range uint64(40) {
		r := rand.New(rand.NewPCG(seed, 9))
		clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		opts := Options{Health: Health{MaxFails: 1 + r.IntN(3), FailTimeout: 10 * time.Second}, Now: clock.Now}
		b := NewLeastConn(opts)
		ref := NewPool(opts)
		for i := range 1 + r.IntN(12) {
			id, w := fmt.Sprint("p", i), 1+r.IntN(5)
			require.NoError(t, b.Add(id, w))
			require.NoError(t, ref.Add(id, w))
		}
		var held []string // picked, not yet reported
		for step := range 2000 {
			want, wantOK := nginxLeastConn(ref)
			got, err := b.Pick("")
			require.Equal(t, wantOK, err == nil, "seed %d step %d: nginx ok=%v, balancer err=%v", seed, step, wantOK, err)
			require.Equal(t, want, got, "seed %d step %d: the balancer left nginx's least_conn", seed, step)
			if !wantOK {
				clock.now = clock.now.Add(11 * time.Second)
				continue
			}
			held = append(held, got)
			for len(held) > 0 && r.IntN(3) > 0 { // on average two finish per pick
				k := r.IntN(len(held))
				id := held[k]
				held = append(held[:k], held[k+1:]...)
				o := Success
				if r.Float64() < 0.02 {
					o = Failure
				}
				b.Report(id, o)
				ref.Report(id, o)
			}
			if r.Float64() < 0.01 {
				clock.now = clock.now.Add(time.Duration(r.IntN(20)) * time.Second)
			}
		}
	}
}
