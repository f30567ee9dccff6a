package fault_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
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
	ran := 0 // the seeds -run kept, which a replay of one seed cuts to 1
	for _, seed := range list {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			ran++
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
		ran, ops, total.Faults(), total.Reads, total.Rounds, total.Steps)
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
	var ran, ops, faults, reads int
	for _, seed := range list {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			ran++
			res := fault.Run(t, fault.Config{Seed: seed, Steps: *steps, Data: 5, Replicas: 3})
			for _, n := range res.Steps {
				ops += n
			}
			faults += res.Faults()
			reads += res.Reads
		})
	}
	t.Logf("%d seeds, %d steps (%d faults), %d reads checked", ran, ops, faults, reads)
}

// A replay of one seed, as the chapter gives it (-run
// 'TestFaults$/^seed=N$' -fault.seeds=N), says in its summary that one
// seed ran, not N: the summary counts the seeds -run kept. The test runs
// its own binary again with those flags.
func TestSummaryCountsTheSeedsThatRan(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two seeds in a child process")
	}
	out, err := exec.Command(os.Args[0], "-test.run=^TestFaults(ThreeCopies)?$/^seed=2$", "-test.v", "-fault.seeds=2").CombinedOutput()
	if err != nil {
		t.Fatalf("the replay failed: %v\n%s", err, out)
	}
	summaries := regexp.MustCompile(`fault_test.go:\d+: (\d+) seeds,`).FindAllSubmatch(out, -1)
	if len(summaries) != 2 {
		t.Fatalf("want the summaries of TestFaults and TestFaultsThreeCopies, got %d in:\n%s", len(summaries), out)
	}
	for _, m := range summaries {
		if string(m[1]) != "1" {
			t.Errorf("a replay of seed 2 alone says %s seeds ran, want 1:\n%s", m[1], out)
		}
	}
}
