package gateway

import (
	"context"
	"log/slog"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A runtime knob the environment overrides is said, at start and in a
// reload's warnings (the admin endpoint's answer): the file's
// procs_per_cpu or gc_percent was ignored without a word. A knob the
// environment leaves alone, and a gateway inside another program (which
// tunes nothing), say nothing.
func TestARuntimeKnobTheEnvironmentOverridesIsSaid(t *testing.T) {
	t.Setenv("GOGC", "150")
	t.Setenv("GOMEMLIMIT", "")
	t.Setenv("GOMAXPROCS", "3")
	procs := runtime.GOMAXPROCS(0)
	p0, l0 := gcSettings()
	t.Cleanup(func() { runtime.GOMAXPROCS(procs); debug.SetGCPercent(p0); debug.SetMemoryLimit(l0) })

	srvs := backends(t, 1)
	src := &fakeSource{text: fill("pools: {p: {targets: [\"${A}\"]}}\nroutes: [{pool: p}]\nruntime: {gc_percent: 321, memory_limit_bytes: 123456789, procs_per_cpu: 2}\n", srvs)}
	want := []string{
		"runtime.gc_percent is not applied: GOGC=150 is set in the environment, which wins",
		"runtime.procs_per_cpu is not applied: GOMAXPROCS=3 is set in the environment, which wins",
	}

	var log lockedBuffer
	g, err := New(context.Background(), src.read, Options{ManualChecks: true, Logger: slog.New(slog.NewTextHandler(&log, nil)), TuneRuntime: true})
	require.NoError(t, err)
	defer g.Close()
	for _, w := range want {
		assert.Contains(t, log.String(), w)
	}
	assert.NotContains(t, log.String(), "memory_limit_bytes", "GOMEMLIMIT is not set: the file's limit applies")

	warnings, err := g.reload()
	require.NoError(t, err)
	assert.Equal(t, want, warnings)

	var quiet lockedBuffer
	other, err := New(context.Background(), src.read, Options{ManualChecks: true, Logger: slog.New(slog.NewTextHandler(&quiet, nil))})
	require.NoError(t, err)
	defer other.Close()
	assert.NotContains(t, quiet.String(), "runtime.", "a gateway that tunes nothing warns of nothing")
}
