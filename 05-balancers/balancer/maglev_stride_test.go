package balancer

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// The chapter's rule for weighted turns: backend r's k-th turn (from 0)
// comes at pass k/w_r, the earliest pass first, the lower rank on a tie.
// Worked by hand for weights 3, 1, 2: passes 0 0 0 (ranks 0 1 2), then
// 1/3 (0), 1/2 (2), 2/3 (0), then 1 1 1 (0 1 2), 4/3 (0), 3/2 (2), 5/3
// (0). The tests of shares and scaling pass other stride orders too
// (turns at (k+1/2)/w_r, for one, give 0 2 0 1 2 0 ...), which fill other
// tables: a gateway built with one would send keys elsewhere than one
// built with the other.
func TestMaglevTurnsComeInStrideOrder(t *testing.T) {
	turns := newTurnOrder([]int{3, 1, 2})
	var got []int
	for range 12 {
		got = append(got, turns.next())
	}
	want := []int{0, 1, 2, 0, 2, 0, 0, 1, 2, 0, 2, 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("turns for weights 3, 1, 2 (-want +got):\n%s", diff)
	}
}

// stridePopulate is the paper's population procedure with the turns in
// the chapter's stride order, found the slow way: before each turn, a
// scan for the backend whose next pass turns/w is the smallest, compared
// exactly, the lower rank on a tie. ids are in rank order.
func stridePopulate(ids []string, weights []int, m uint64, hash func(string) uint64) []int {
	entry := make([]int, m)
	for s := range entry {
		entry[s] = -1
	}
	offset, skip, next := make([]uint64, len(ids)), make([]uint64, len(ids)), make([]uint64, len(ids))
	for r, id := range ids {
		offset[r], skip[r] = hash(id)%m, hash("skip:"+id)%(m-1)+1
	}
	taken := make([]int, len(ids))
	for range m {
		r := 0
		for q := 1; q < len(ids); q++ {
			if taken[q]*weights[r] < taken[r]*weights[q] {
				r = q
			}
		}
		taken[r]++
		c := (offset[r] + next[r]*skip[r]) % m
		for entry[c] >= 0 {
			next[r]++
			c = (offset[r] + next[r]*skip[r]) % m
		}
		entry[c] = r
		next[r]++
	}
	return entry
}

// With unequal weights the table is the paper's procedure with stride
// turns, slot for slot: TestMaglevEqualWeightsFillThePapersTable's
// counterpart for the weights it cannot see.
func TestMaglevUnequalWeightsFillTheStrideTable(t *testing.T) {
	for _, weights := range [][]int{{3, 1, 2}, {1, 5, 2, 7}, {MaxWeight, 1, 3}, {2, 3, 5, 7, 11, 13, 17, 19}} {
		for _, size := range []int{7, 101, 1009, DefaultTableSize} {
			if len(weights) > size {
				continue
			}
			b, err := NewMaglev(Options{TableSize: size})
			require.NoError(t, err)
			ids := make([]string, len(weights)) // b0 ... b7: rank order is position order
			for i, w := range weights {
				ids[i] = fmt.Sprint("b", i)
				require.NoError(t, b.Add(ids[i], w))
			}
			b.fill()
			got := make([]int, size)
			for s, i := range b.table {
				got[s] = int(i)
			}
			want := stridePopulate(ids, weights, uint64(size), b.hash)
			if s := firstDifference(want, got); s >= 0 {
				t.Errorf("M=%d, weights %v: the table differs from the stride order's first at slot %d: %s, want %s", size, weights, s, ids[got[s]], ids[want[s]])
			}
		}
	}
}
