package gateway

import (
	"context"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gcSettings reads the collector's two knobs.
func gcSettings() (percent int, limit int64) {
	percent = debug.SetGCPercent(100)
	debug.SetGCPercent(percent)
	return percent, debug.SetMemoryLimit(-1)
}

func TestRuntimeSectionTunesTheCollectorAndAReloadUndoesIt(t *testing.T) {
	t.Setenv("GOGC", "") // as if the environment set neither knob
	t.Setenv("GOMEMLIMIT", "")
	p0, l0 := gcSettings()
	t.Cleanup(func() { debug.SetGCPercent(p0); debug.SetMemoryLimit(l0) })

	srvs := backends(t, 1)
	base := fill("pools: {p: {targets: [\"${A}\"]}}\nroutes: [{pool: p}]\n", srvs)
	src := &fakeSource{text: base + "runtime: {gc_percent: 321, memory_limit_bytes: 123456789}\n"}
	g, err := New(context.Background(), src.read, Options{ManualChecks: true, Logger: discardLogger(), TuneRuntime: true})
	require.NoError(t, err)
	defer g.Close()
	p, l := gcSettings()
	assert.Equal(t, 321, p)
	assert.EqualValues(t, 123456789, l)

	src.set(base) // no runtime section: back to what the process started with
	require.NoError(t, g.Reload())
	p, l = gcSettings()
	assert.Equal(t, startGCPercent, p)
	assert.Equal(t, startMemoryLimit, l)
}

func TestTheEnvironmentWinsOverTheRuntimeSection(t *testing.T) {
	t.Setenv("GOGC", "150")
	t.Setenv("GOMEMLIMIT", "")
	p0, l0 := gcSettings()
	t.Cleanup(func() { debug.SetGCPercent(p0); debug.SetMemoryLimit(l0) })

	srvs := backends(t, 1)
	src := &fakeSource{text: fill("pools: {p: {targets: [\"${A}\"]}}\nroutes: [{pool: p}]\nruntime: {gc_percent: 321, memory_limit_bytes: 123456789}\n", srvs)}
	g, err := New(context.Background(), src.read, Options{ManualChecks: true, Logger: discardLogger(), TuneRuntime: true})
	require.NoError(t, err)
	defer g.Close()
	p, l := gcSettings()
	assert.Equal(t, p0, p, "GOGC is set: gc_percent is not applied")
	assert.EqualValues(t, 123456789, l, "GOMEMLIMIT is not: memory_limit_bytes is")
}

func TestAGatewayInsideAnotherProgramLeavesTheCollectorAlone(t *testing.T) {
	t.Setenv("GOGC", "")
	p0, l0 := gcSettings()
	srvs := backends(t, 1)
	src := &fakeSource{text: fill("pools: {p: {targets: [\"${A}\"]}}\nroutes: [{pool: p}]\nruntime: {gc_percent: 321}\n", srvs)}
	g, err := New(context.Background(), src.read, Options{ManualChecks: true, Logger: discardLogger()})
	require.NoError(t, err)
	defer g.Close()
	p, l := gcSettings()
	assert.Equal(t, p0, p)
	assert.Equal(t, l0, l)
}

// goDefaultProcs is what Go picks for GOMAXPROCS by itself, here and now.
func goDefaultProcs(t *testing.T) int {
	p0 := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(p0) })
	runtime.SetDefaultGOMAXPROCS()
	return runtime.GOMAXPROCS(0)
}

func TestProcsPerCPUMultipliesGoMaxProcsAndAReloadUndoesIt(t *testing.T) {
	t.Setenv("GOMAXPROCS", "") // as if the environment did not set it
	def := goDefaultProcs(t)

	srvs := backends(t, 1)
	base := fill("pools: {p: {targets: [\"${A}\"]}}\nroutes: [{pool: p}]\n", srvs)
	src := &fakeSource{text: base + "runtime: {procs_per_cpu: 3}\n"}
	g, err := New(context.Background(), src.read, Options{ManualChecks: true, Logger: discardLogger(), TuneRuntime: true})
	require.NoError(t, err)
	defer g.Close()
	assert.Equal(t, 3*def, runtime.GOMAXPROCS(0))

	src.set(base + "runtime: {procs_per_cpu: 2}\n") // from Go's choice, not from the last setting
	require.NoError(t, g.Reload())
	assert.Equal(t, 2*def, runtime.GOMAXPROCS(0))

	src.set(base) // no runtime section: Go's own choice again
	require.NoError(t, g.Reload())
	assert.Equal(t, def, runtime.GOMAXPROCS(0))
}

func TestTheEnvironmentWinsOverProcsPerCPU(t *testing.T) {
	def := goDefaultProcs(t)
	runtime.GOMAXPROCS(def + 1) // as GOMAXPROCS in the environment would have set it
	t.Setenv("GOMAXPROCS", strconv.Itoa(def+1))

	srvs := backends(t, 1)
	src := &fakeSource{text: fill("pools: {p: {targets: [\"${A}\"]}}\nroutes: [{pool: p}]\nruntime: {procs_per_cpu: 3}\n", srvs)}
	g, err := New(context.Background(), src.read, Options{ManualChecks: true, Logger: discardLogger(), TuneRuntime: true})
	require.NoError(t, err)
	defer g.Close()
	assert.Equal(t, def+1, runtime.GOMAXPROCS(0), "GOMAXPROCS is set: procs_per_cpu is not applied")
}

func TestAGatewayInsideAnotherProgramLeavesGoMaxProcsAlone(t *testing.T) {
	t.Setenv("GOMAXPROCS", "")
	def := goDefaultProcs(t)
	runtime.GOMAXPROCS(def + 1) // the program's own choice
	srvs := backends(t, 1)
	src := &fakeSource{text: fill("pools: {p: {targets: [\"${A}\"]}}\nroutes: [{pool: p}]\nruntime: {procs_per_cpu: 3}\n", srvs)}
	g, err := New(context.Background(), src.read, Options{ManualChecks: true, Logger: discardLogger()})
	require.NoError(t, err)
	defer g.Close()
	assert.Equal(t, def+1, runtime.GOMAXPROCS(0))
}
