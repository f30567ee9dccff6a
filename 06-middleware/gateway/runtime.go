package gateway

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	rtmetrics "runtime/metrics"

	"github.com/gocourse/gateway/06-middleware/config"
)

// Go's own collector settings, as the process started with (GOGC and
// GOMEMLIMIT from the environment, or Go's defaults): what a
// configuration without a runtime section goes back to.
var startGCPercent, startMemoryLimit = func() (int, int64) {
	s := []rtmetrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	rtmetrics.Read(s)
	return int(s[0].Value.Uint64()), int64(s[1].Value.Uint64())
}()

// tuneRuntime applies a configuration's runtime section to the process:
// process-wide settings, so only a Gateway with Options.TuneRuntime (the
// program's own) does it. A knob set in the environment is left alone.
// GOMAXPROCS needs no remembering: Go can say what it would choose
// (runtime.SetDefaultGOMAXPROCS), so a section without procs_per_cpu goes
// back to that.
func tuneRuntime(rt config.Runtime) {
	if os.Getenv("GOGC") == "" {
		p := startGCPercent
		if rt.GCPercent > 0 {
			p = rt.GCPercent
		}
		debug.SetGCPercent(p)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		l := startMemoryLimit
		if rt.MemoryLimitBytes > 0 {
			l = rt.MemoryLimitBytes
		}
		debug.SetMemoryLimit(l)
	}
	if os.Getenv("GOMAXPROCS") == "" {
		// Go's own choice first: the CPUs, or the CPU quota, as they are
		// now; then the multiple, if any. Without one, Go keeps choosing
		// by itself as the quota changes; with one, the number stays until
		// the next reload, since a call of GOMAXPROCS turns Go's updates
		// off (see runtime.GOMAXPROCS).
		runtime.SetDefaultGOMAXPROCS()
		if k := rt.ProcsPerCPU; k > 1 {
			runtime.GOMAXPROCS(k * runtime.GOMAXPROCS(0))
		}
	}
}

// runtimeWarnings names each knob of rt that the environment overrides
// (getenv is os.Getenv): tuneRuntime leaves such a knob alone, and
// without a word an operator who wrote procs_per_cpu: 2 in the file and
// runs the gateway with GOMAXPROCS set (a container's default
// environment can) would believe the file applied.
func runtimeWarnings(rt config.Runtime, getenv func(string) string) []string {
	var out []string
	for _, k := range []struct {
		key, env string
		set      bool
	}{
		{"gc_percent", "GOGC", rt.GCPercent > 0},
		{"memory_limit_bytes", "GOMEMLIMIT", rt.MemoryLimitBytes > 0},
		{"procs_per_cpu", "GOMAXPROCS", rt.ProcsPerCPU > 0},
	} {
		if v := getenv(k.env); k.set && v != "" {
			out = append(out, fmt.Sprintf("runtime.%s is not applied: %s=%s is set in the environment, which wins", k.key, k.env, v))
		}
	}
	return out
}
