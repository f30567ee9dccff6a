package blob_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

// An OpenDisk that fails after it took the directory's lock lets go of
// it: the operator who fixes what was wrong can start the server again
// without waiting for the failed process to exit.
func TestAFailedOpenDiskFreesItsDirectory(t *testing.T) {
	dir := t.TempDir()
	inTheWay := filepath.Join(dir, "blobs")
	require.NoError(t, os.WriteFile(inTheWay, []byte("a file where the blobs directory goes"), 0o644))
	_, err := blob.OpenDisk(dir)
	require.Error(t, err, "OpenDisk with a file where blobs/ goes")
	require.NotErrorIs(t, err, blob.ErrInUse)

	require.NoError(t, os.Remove(inTheWay))
	d, err := blob.OpenDisk(dir)
	require.NoError(t, err, "the directory is free again after an OpenDisk that failed")
	require.NoError(t, d.Close())
}

// holdDirEnv names the directory a child test process opens and holds
// until it is killed (see TestACrashedDiskLeavesItsDirectoryFree).
const holdDirEnv = "BLOB_TEST_HOLD_DIR"

// A data server in another process keeps the directory from this one,
// and one that dies without Close (here: killed) leaves it free: the
// lock is the kernel's, dropped with the process, not a file that a
// crash would leave behind.
func TestACrashedDiskLeavesItsDirectoryFree(t *testing.T) {
	if dir := os.Getenv(holdDirEnv); dir != "" {
		if _, err := blob.OpenDisk(dir); err != nil {
			fmt.Println("failed:", err)
			return
		}
		fmt.Println("open")
		select {} // until killed
	}
	if !blob.LocksDir {
		t.Skip("no flock(2) in Go's syscall package here: nothing keeps two stores on one directory apart")
	}
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^TestACrashedDiskLeavesItsDirectoryFree$", "-test.count=1", "-test.timeout=1m")
	child.Env = append(os.Environ(), holdDirEnv+"="+dir)
	out, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	killed := false
	defer func() {
		if !killed {
			child.Process.Kill()
			child.Wait()
		}
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err, "reading the child's first line")
	require.Equal(t, "open\n", line, "the child process did not open the directory")

	_, err = blob.OpenDisk(dir)
	require.ErrorIs(t, err, blob.ErrInUse, "OpenDisk of a directory another process has open")

	require.NoError(t, child.Process.Kill())
	child.Wait()
	killed = true
	d, err := blob.OpenDisk(dir)
	require.NoError(t, err, "the directory of a killed process is still locked")
	assert.NoError(t, d.Close())
}
