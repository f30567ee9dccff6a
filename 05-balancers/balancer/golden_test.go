package balancer_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/05-balancers/balancer"
	"github.com/gocourse/gateway/05-balancers/ring"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with the file, or rewrites the file with -update.
// The chapter shows these files, so its tables are what the code does.
func golden(t *testing.T, file, got string) {
	t.Helper()
	if *update {
		require.NoError(t, os.WriteFile(file, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Equal(t, string(want), got, "%s is out of date: run go test ./05-balancers/balancer -run %s -update", file, t.Name())
}

// TestSmoothWeightedSteps prints one period of nginx's smooth weighted
// round robin for weights {a:5, b:1, c:1}: the step table of chapter 05,
// checked against the balancer's own picks.
func TestSmoothWeightedSteps(t *testing.T) {
	ids, weights := []string{"a", "b", "c"}, []int{5, 1, 1}
	total := 7
	b := balancer.NewSmoothWeighted(balancer.Options{})
	for i, id := range ids {
		require.NoError(t, b.Add(id, weights[i]))
	}
	var out strings.Builder
	fmt.Fprintf(&out, "round  current + weight  picked  after picked -= %d\n", total)
	current := make([]int, len(ids))
	for round := 1; round <= total+1; round++ {
		best := 0
		for i := range current {
			current[i] += weights[i]
			if current[i] > current[best] {
				best = i
			}
		}
		added := fmt.Sprint(current)
		current[best] -= total
		fmt.Fprintf(&out, "%5d  %-16s  %-6s  %v\n", round, added, ids[best], current)

		id, err := b.Pick("")
		require.NoError(t, err)
		b.Report(id, balancer.Success)
		require.Equal(t, ids[best], id, "round %d: the balancer and the table disagree", round)
	}
	golden(t, "testdata/swrr_steps.txt", out.String())
}

// TestComparison measures, for every balancer, how evenly it spreads
// 100000 distinct keys over 10 backends of equal weight, and for hash
// balancers how many keys move when one of 10 backends is removed or an
// 11th is added. The chapter's comparison table shows this file.
func TestComparison(t *testing.T) {
	const n, keys = 10, 100000
	var out strings.Builder
	fmt.Fprintf(&out, "%-10s  %-14s  %-17s  %s\n", "balancer", "busiest/ideal", "moved: remove 1", "moved: add 11th")
	for _, name := range balancer.Names() {
		build := func() balancer.Balancer {
			b, err := balancer.New(name, balancer.Options{Rand: newPCG()})
			require.NoError(t, err)
			for i := range n {
				require.NoError(t, b.Add(fmt.Sprint("backend-", i), 1))
			}
			return b
		}
		mapping := func(b balancer.Balancer) []string {
			m := make([]string, keys)
			for i := range m {
				id, err := b.Pick(fmt.Sprint("key-", i))
				require.NoError(t, err)
				b.Report(id, balancer.Success)
				m[i] = id
			}
			return m
		}
		b := build()
		before := mapping(b)
		count := map[string]int{}
		for _, id := range before {
			count[id]++
		}
		busiest := 0
		for _, c := range count {
			busiest = max(busiest, c)
		}
		spread := fmt.Sprintf("%.3f", float64(busiest)/(keys/n))

		removed, added := "-", "-"
		if traits[name].Hashed {
			require.NoError(t, b.Remove("backend-3"))
			removed = fmt.Sprintf("%.1f%% (1/10)", 100*movedFraction(before, mapping(b)))
			b = build()
			require.NoError(t, b.Add("backend-new", 1))
			added = fmt.Sprintf("%.1f%% (1/11)", 100*movedFraction(before, mapping(b)))
		}
		fmt.Fprintf(&out, "%-10s  %-14s  %-17s  %s\n", name, spread, removed, added)
	}
	golden(t, "testdata/compare.txt", out.String())
}

// TestModuloMovesMostKeys backs the figure the chapter gives beside the
// table: hash(key) % n, going from 10 backends to 11, moves about 90% of
// the keys (a key stays only if its hash gives the same remainder for both:
// about 1 in 11), where the ring moves about 1/11.
func TestModuloMovesMostKeys(t *testing.T) {
	const keys = 100000
	before, after := make([]string, keys), make([]string, keys)
	for i := range keys {
		h := ring.FNV(fmt.Sprint("key-", i))
		before[i], after[i] = fmt.Sprint(h%10), fmt.Sprint(h%11)
	}
	assert.InDelta(t, 10.0/11, movedFraction(before, after), 0.005, "keys moved by hash %% n from 10 to 11")
}

func movedFraction(before, after []string) float64 {
	moved := 0
	for i := range before {
		if before[i] != after[i] {
			moved++
		}
	}
	return float64(moved) / float64(len(before))
}

// newPCG is a fixed random source, so that the measured figures repeat.
func newPCG() *rand.PCG { return rand.NewPCG(1, 2) }
