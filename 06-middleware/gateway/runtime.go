package gateway

import (
	"os"
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
