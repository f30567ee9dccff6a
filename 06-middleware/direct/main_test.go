package direct

import (
	"flag"
	"os"
	"testing"
)

// TestMain runs the package's tests where the direct path is on. Where it
// is off (no way to peek at a socket: see canPeek) every request goes to
// http.Transport, and only the test that checks this runs.
func TestMain(m *testing.M) {
	if !canPeek {
		flag.Parse()
		if err := flag.Set("test.run", "^TestTakesNothingWithoutAPeek$"); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}
