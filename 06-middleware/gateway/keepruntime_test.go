package gateway

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keepRuntime puts back, when the test ends, the process-wide settings a
// run of the program may change (tuneRuntime): GOMAXPROCS, the
// collector's percentage and its memory limit. Every test that runs the
// program past loading its configuration calls it; without it the
// built-in configuration's runtime section (procs_per_cpu: 2,
// gc_percent: 400, a 512 MiB limit) would hold for every test after it,
// and a -cpu 1 run would go on with four Ps.
//
// It also hides GOMAXPROCS, GOGC and GOMEMLIMIT from the program, as if
// the environment set none: the program would leave those knobs alone
// and say so in a warning (runtimeWarnings), and a learner whose shell
// sets one would see the transcripts fail.
func keepRuntime(t *testing.T) {
	t.Helper()
	for _, env := range []string{"GOMAXPROCS", "GOGC", "GOMEMLIMIT"} {
		t.Setenv(env, "")
	}
	procs := runtime.GOMAXPROCS(0)
	percent, limit := gcSettings()
	t.Cleanup(func() {
		runtime.GOMAXPROCS(procs)
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	})
}

// The tests that run the program leave the process's runtime settings as
// they found them (keepRuntime). Each runs here as a subtest, between
// settings no configuration chooses, with the environment setting none
// of them, so that the program does tune the runtime.
func TestTestsThatRunTheProgramLeaveTheRuntimeAlone(t *testing.T) {
	t.Setenv("GOMAXPROCS", "")
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	procs := runtime.GOMAXPROCS(0)
	p0, l0 := gcSettings()
	t.Cleanup(func() { runtime.GOMAXPROCS(procs); debug.SetGCPercent(p0); debug.SetMemoryLimit(l0) })

	srvs := backends(t, 1)
	for name, test := range map[string]func(*testing.T){
		"TestRunTranscript":                         TestRunTranscript,
		"TestRunRejectsABadCommandLine":             TestRunRejectsABadCommandLine,
		"TestRunRefusesListenersThatClash":          TestRunRefusesListenersThatClash,
		"TestRunNamesTheBusyAdminAddress":           TestRunNamesTheBusyAdminAddress,
		"TestCheckFlag":                             TestCheckFlag,
		"TestAStartThatFailsSaysNothingIsListening": TestAStartThatFailsSaysNothingIsListening,
		"runFile with a runtime section": func(t *testing.T) {
			_, _, stop := runFile(t, fill("pools: {p: {targets: [\"${A}\"]}}\nroutes: [{pool: p}]\nruntime: {procs_per_cpu: 3, gc_percent: 321, memory_limit_bytes: 123456789}\n", srvs))
			require.NoError(t, stop())
		},
	} {
		runtime.GOMAXPROCS(1)
		debug.SetGCPercent(123)
		debug.SetMemoryLimit(123 << 20)
		t.Run(name, test)
		p, l := gcSettings()
		assert.Equal(t, 1, runtime.GOMAXPROCS(0), "GOMAXPROCS after %s", name)
		assert.Equal(t, 123, p, "GC percent after %s", name)
		assert.EqualValues(t, 123<<20, l, "memory limit after %s", name)
	}
}
