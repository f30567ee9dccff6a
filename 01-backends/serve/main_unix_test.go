//go:build unix

package serve

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// childEnv, when set, makes this test binary run Main as a program that
// takes a long time to stop (see TestASecondSignalStopsAtOnce).
const childEnv = "SERVE_TEST_SLOW_STOPPER"

func init() {
	if os.Getenv(childEnv) == "" {
		return
	}
	Main("slow-stopper", func(ctx context.Context, _ []string, stdout io.Writer) error {
		fmt.Fprintln(stdout, "running")
		<-ctx.Done()
		fmt.Fprintln(stdout, "draining")
		if os.Getenv(childEnv) == "quick" {
			return nil // a drain that ends by itself
		}
		time.Sleep(time.Minute) // a drain that outlasts the user's patience
		return nil
	})
}

// TestSIGTERMStopsGracefully: SIGTERM, what service managers and
// Kubernetes send, starts the same graceful stop as Ctrl-C: the program
// drains and exits 0 instead of dying of the signal.
func TestSIGTERMStopsGracefully(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=quick")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(out)
	require.True(t, lines.Scan(), "the child ended early: %v", lines.Err())
	require.Equal(t, "running", lines.Text()) // Main's handler is in place
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.True(t, lines.Scan(), "the child ended without draining (killed by the SIGTERM?): %v", lines.Err())
	require.Equal(t, "draining", lines.Text())
	require.NoError(t, cmd.Wait(), "the child should exit 0 after its drain")
}

// TestASecondSignalStopsAtOnce runs Main in a child process whose stop
// takes a minute: the first SIGINT starts it, the second ends the process
// at once (killed by the signal, not exiting by itself).
func TestASecondSignalStopsAtOnce(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	lines := bufio.NewScanner(out)
	next := func() string {
		require.True(t, lines.Scan(), "the child ended early: %v", lines.Err())
		return lines.Text()
	}
	require.Equal(t, "running", next()) // Main's handler is in place
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.Equal(t, "draining", next()) // the graceful stop has begun
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit)
		ws, ok := exit.Sys().(syscall.WaitStatus)
		require.True(t, ok)
		require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGINT,
			"the child should die of the second SIGINT, got %v", err)
	case <-time.After(30 * time.Second): // the drain lasts a minute: the signal was ignored
		cmd.Process.Kill()
		<-done
		t.Fatal("a second SIGINT did not stop the program")
	}
}
