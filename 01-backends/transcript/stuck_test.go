package transcript

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// A program that does not stop when asked must fail Check, not hang it:
// Check waited for such a program without a bound after it had failed
// the test (after a ^C it waited Timeout for, or a step it could not
// replay), and the stage's test hung until go test's timeout, its
// message never printed. The program here prints its banner and then
// ignores its context; the check runs in a child process, bounded by a
// deadline, with the wait for a stop shortened.
func TestCheckFailsWhenTheProgramDoesNotStop(t *testing.T) {
	for _, c := range []struct{ name, transcript, want string }{
		{"at ^C", "$ go run ./x\nstarted\n^C\n", "the program did not stop within 100ms of ^C"},
		{"after a step that fails the test", "$ go run ./x\nstarted\n$ wget http://127.0.0.1:1/\n",
			"the program did not stop within 100ms of the end of the check"},
	} {
		t.Run(c.name, func(t *testing.T) {
			switch os.Getenv("TRANSCRIPT_STUCK_CHILD") {
			case "":
			case c.name:
				stopTimeout = 100 * time.Millisecond
				file := filepath.Join(t.TempDir(), "run.txt")
				if err := os.WriteFile(file, []byte(c.transcript), 0o644); err != nil {
					t.Fatal(err)
				}
				Check(t, file, func(_ context.Context, _ []string, w io.Writer) error {
					fmt.Fprintln(w, "started")
					select {} // deaf to its context
				})
				return
			default:
				return // the child of another case
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCheckFailsWhenTheProgramDoesNotStop$", "-test.count=1")
			cmd.Env = append(os.Environ(), "TRANSCRIPT_STUCK_CHILD="+c.name)
			out, err := cmd.CombinedOutput()
			if !assert.NoError(t, ctx.Err(), "Check hung on a program that does not stop:\n%s", out) {
				return
			}
			var exit *exec.ExitError
			assert.ErrorAs(t, err, &exit, "the child test passed:\n%s", out)
			assert.Contains(t, string(out), c.want)
		})
	}
}
