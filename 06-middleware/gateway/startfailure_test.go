package gateway

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A start that fails says why and nothing else: its output must not tell
// the operator that a demo backend or the gateway is listening when the
// program is about to exit, neither for a file that does not load (the
// demo backends its placeholders need are started before it is read) nor
// for an admin address that is taken (the gateway's own listener was
// bound before it).
func TestAStartThatFailsSaysNothingIsListening(t *testing.T) {
	keepRuntime(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("pools: {p: {balancer: fastest, targets: [\"${BACKEND_A}\"]}}\nroutes: [{pool: p}]\n"), 0o644))
	var out strings.Builder
	err := Run(context.Background(), []string{"-config", bad, "-listen", "127.0.0.1:0"}, &out)
	assert.ErrorContains(t, err, `unknown balancer "fastest"`)
	assert.Empty(t, out.String(), "the output of a start on a file that does not load")

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	out.Reset()
	err = Run(context.Background(), []string{"-listen", "127.0.0.1:0", "-admin", busy.Addr().String()}, &out)
	assert.ErrorContains(t, err, "for the admin listener")
	assert.Empty(t, out.String(), "the output of a start whose admin address is taken")
}
