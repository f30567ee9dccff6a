package balancertest

import (
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// failsInAChild runs test again in a child test process with env set, for
// a check that must fail, and returns what the child printed.
func failsInAChild(t *testing.T, test, env string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env+"=1")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the check passed:\n%s", out)
	return string(out)
}

// TestSharesAllowThirtyPercent: the bound of EvenSpread and the other
// shares checks, as the chapter gives it. Over 8,000 picks among 4
// backends of weight 1 (2,000 due each), 2,599 and 1,401 pass; 2,601 and
// 1,399 fail.
func TestSharesAllowThirtyPercent(t *testing.T) {
	if os.Getenv("BALANCERTEST_SHARES_CHILD") == "1" {
		checkShares(t, map[string]int{"a": 2601, "b": 2000, "c": 2000, "d": 1399}, ones(4), 8000)
		return
	}
	checkShares(t, map[string]int{"a": 2599, "b": 2000, "c": 2000, "d": 1401}, ones(4), 8000)
	out := failsInAChild(t, "TestSharesAllowThirtyPercent", "BALANCERTEST_SHARES_CHILD")
	assert.Contains(t, out, "backend a (weight 1 of 4, the weight of the backends up) got 2601 of 8000 picks, want about 2000 (within 30%)")
	assert.Contains(t, out, "backend d (weight 1 of 4, the weight of the backends up) got 1399 of 8000 picks")
}

// TestMovedAllowsTwoNths: the bound of RemoveMovesAboutOneNth and
// AddMovesAboutOneNth, as the chapter gives it. With 10 backends, 2,000
// of 10,000 keys may move; 2,001 fail.
func TestMovedAllowsTwoNths(t *testing.T) {
	keys := func(movedKeys int) (before, after []string) {
		for i := range 10000 {
			before = append(before, "a")
			if i < movedKeys {
				after = append(after, "b")
			} else {
				after = append(after, "a")
			}
		}
		return before, after
	}
	if os.Getenv("BALANCERTEST_MOVED_CHILD") == "1" {
		before, after := keys(2001)
		checkMoved(t, before, after, 10, "removing one backend out of 10")
		return
	}
	before, after := keys(2000)
	checkMoved(t, before, after, 10, "removing one backend out of 10")
	out := failsInAChild(t, "TestMovedAllowsTwoNths", "BALANCERTEST_MOVED_CHILD")
	assert.Contains(t, out, "removing one backend out of 10 moved 20.0% of the keys; ideal is 1/10 = 10.0%, the bound 20.0%")
}
