package fault_test

import (
	"flag"
	"fmt"
	"testing"

	"github.com/gocourse/gateway/07-object-storage/fault"
)

var (
	seeds = flag.Int("fault.seeds", 0, "run this many seeds (from 1) instead of the fixed CI set")
	steps = flag.Int("fault.steps", 0, "steps per seed (default: the suite's)")
)

// ciSeeds are run on every go test: small, fixed, a few seconds under -race.
var ciSeeds = []uint64{1, 2, 3, 4}

func TestFaults(t *testing.T) {
	list := ciSeeds
	if *seeds > 0 {
		list = nil
		for i := range *seeds {
			list = append(list, uint64(i+1))
		}
	}
	total := fault.Result{Steps: map[string]int{}}
	for _, seed := range list {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			res := fault.Run(t, fault.Config{Seed: seed, Steps: *steps})
			for k, n := range res.Steps {
				total.Steps[k] += n
			}
			total.Reads += res.Reads
			total.Rounds = max(total.Rounds, res.Rounds)
		})
	}
	ops := 0
	for _, n := range total.Steps {
		ops += n
	}
	t.Logf("%d seeds, %d steps (%d faults), %d reads checked, at most %d repair rounds to R copies; by kind: %v",
		len(list), ops, total.Faults(), total.Reads, total.Rounds, total.Steps)
}

// TestFaultsThreeCopies runs the same seeds with R = 3 on five data
// servers. With R = 2 a fault is injected only while an intact copy
// remains, so a blob short of copies has one copy to copy from, and it
// is intact: a repair that would copy from a damaged copy never gets
// the chance. With three, one copy can be damaged while another is
// lost, and the repair must copy from the intact one.
func TestFaultsThreeCopies(t *testing.T) {
	list := ciSeeds
	if *seeds > 0 {
		list = nil
		for i := range *seeds {
			list = append(list, uint64(i+1))
		}
	}
	var ops, faults, reads int
	for _, seed := range list {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			res := fault.Run(t, fault.Config{Seed: seed, Steps: *steps, Data: 5, Replicas: 3})
			for _, n := range res.Steps {
				ops += n
			}
			faults += res.Faults()
			reads += res.Reads
		})
	}
	t.Logf("%d seeds, %d steps (%d faults), %d reads checked", len(list), ops, faults, reads)
}
