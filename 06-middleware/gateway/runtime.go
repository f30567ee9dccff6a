package gateway

import (
	"os"
	"runtime/debug"

	"github.com/gocourse/gateway/06-middleware/config"
)

// Go's own collector settings, as the process started with (GOGC and
// GOMEMLIMIT from the environment, or Go's defaults): what a
// configuration without a runtime section goes back to.
var startGCPercent, startMemoryLimit = func() (int, int64) {
	p := debug.SetGCPercent(100) // the only way to read it is to set it
	debug.SetGCPercent(p)
	return p, debug.SetMemoryLimit(-1) // a negative limit reads it
}()

// tuneRuntime applies a configuration's runtime section to the process:
// process-wide settings, so only a Gateway with Options.TuneRuntime (the
// program's own) does it. A knob set in the environment is left alone.
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
}
