package pickertest

import (
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSharesReportsANilTarget runs Shares on a picker that returns
// neither a target nor an error (an off-by-one in a weighted pick does
// that), in a child test process, since the check must fail: it must say
// so in words, as Concurrent and SameUnderConcurrency do, not panic on the
// nil URL.
func TestSharesReportsANilTarget(t *testing.T) {
	if os.Getenv("PICKERTEST_NIL_CHILD") == "1" {
		targets := []*url.URL{{Scheme: "http", Host: "a"}}
		Shares(t, func(*http.Request) (*url.URL, error) { return nil, nil }, targets, []float64{1}, 10)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSharesReportsANilTarget$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PICKERTEST_NIL_CHILD=1")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "Shares passed a picker that returns no target:\n%s", out)
	assert.Contains(t, string(out), "pick returned <nil>, <nil>; want one of the targets")
	assert.NotContains(t, string(out), "panic")
}
