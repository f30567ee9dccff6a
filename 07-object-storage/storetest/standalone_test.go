package storetest_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/storetest"
)

// Standalone runs cleanups last first on Close, removes its temporary
// directories, and turns a failed require into a panic that carries the
// message (which is how an Example using it fails).
func TestStandalone(t *testing.T) {
	tb := new(storetest.Standalone)
	dir := tb.TempDir()
	require.DirExists(t, dir)
	var order []int
	tb.Cleanup(func() { order = append(order, 1) })
	tb.Cleanup(func() { order = append(order, 2) })

	var msg any
	func() {
		defer func() { msg = recover() }()
		require.Equal(tb, "want", "got", "the cluster is broken")
	}()
	require.IsType(t, "", msg, "a failed require panics with a message")
	assert.Contains(t, msg, "the cluster is broken")
	tb.Close()
	assert.Equal(t, []int{2, 1}, order, "cleanups run last first")
	_, err := os.Stat(dir)
	assert.ErrorIs(t, err, os.ErrNotExist, "the temporary directory is removed")
}
