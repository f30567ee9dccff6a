package transcript

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A program that returns before printing its banner (a bad configuration,
// a busy port) must fail Check at once, saying so: Check once took the
// program's result in waitLines and then waited for it again, and the
// stage's test hung until go test's timeout. Check stops the test that
// calls it, so the check runs in a child process, bounded by a deadline.
func TestCheckFailsAtOnceWhenTheProgramReturnsEarly(t *testing.T) {
	if os.Getenv("TRANSCRIPT_EARLY_CHILD") == "1" {
		file := filepath.Join(t.TempDir(), "run.txt")
		if err := os.WriteFile(file, []byte("$ go run ./x\nstarted\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		Check(t, file, func(context.Context, []string, io.Writer) error { return errors.New("bad configuration") })
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCheckFailsAtOnceWhenTheProgramReturnsEarly$", "-test.count=1")
	cmd.Env = append(os.Environ(), "TRANSCRIPT_EARLY_CHILD=1")
	out, err := cmd.CombinedOutput()
	if !assert.NoError(t, ctx.Err(), "Check hung after the program returned:\n%s", out) {
		return
	}
	var exit *exec.ExitError
	assert.ErrorAs(t, err, &exit, "the child test passed:\n%s", out)
	assert.Contains(t, string(out), "the program returned early (bad configuration)")
}
