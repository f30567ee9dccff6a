package gateway

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/serve"
)

// Run fills ${BACKEND_A}, ${BACKEND_B}, ... once, when it starts, with as
// many backends as the file then names (or -targets gives). A file
// reloaded with one more placeholder names a backend that does not
// exist: the reload is refused, and the reason must say so, not that
// "${BACKEND_B}" lacks a scheme and might be http://${BACKEND_B}.
func TestAReloadCannotAddABackendPlaceholder(t *testing.T) {
	urls := []string{backends(t, 1)[0].URL}
	src := &fakeSource{text: "pools: {p: {targets: [\"${BACKEND_A}\"]}}\nroutes: [{pool: p}]\n"}
	read := func() (string, []byte, error) { // as Run's source does
		name, data, err := src.read()
		return name, substitute(data, urls), err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := New(ctx, read, Options{ManualChecks: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	defer g.Close()

	src.set("pools: {p: {targets: [\"${BACKEND_A}\", \"${BACKEND_B}\"]}}\nroutes: [{pool: p}]\n")
	assert.EqualError(t, g.Reload(), "test.yaml:1: pools.p.targets[1].url: ${BACKEND_B} has no backend: "+
		"the placeholders are filled once, when the gateway starts, with as many backends as the file then named (or -targets gave); "+
		"restart it to add one, or write the backend's URL")
}

// -check fills the placeholders with URLs of its own, as it starts no
// backend. They must be URLs no file names: with 127.0.0.1:9001, where
// stage 01's backend A listens, a pool of ${BACKEND_A} and
// http://127.0.0.1:9001 was "already targets[0]" to -check, and started
// without a word with -config (its demo backend A on another port).
func TestCheckFillsPlaceholdersWithURLsNoFileNames(t *testing.T) {
	file := filepath.Join(t.TempDir(), "mixed.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`pools:
  web:
    targets: ["${BACKEND_A}", "${BACKEND_B}", http://127.0.0.1:9001, http://127.0.0.1:9002, http://localhost:9003]
routes: [{pool: web}]
`), 0o644))
	var out strings.Builder
	assert.NoError(t, Run(context.Background(), []string{"-check", file}, &out))
	assert.Equal(t, file+": ok\n", out.String())
}

// A placeholder in a comment names no backend. A copy of the built-in
// file keeps its first lines, which speak of ${BACKEND_A}, ${BACKEND_B}
// and ${BACKEND_C}: one whose pools use A and B alone must start with
// -targets of two URLs, and start two demo backends without it.
func TestAPlaceholderInACommentNamesNoBackend(t *testing.T) {
	data := []byte("# ${BACKEND_A}, ${BACKEND_B} and ${BACKEND_C} are replaced by the backends\n" +
		"pools: {p: {targets: [\"${BACKEND_A}\", \"${BACKEND_B}\"]}} # not ${BACKEND_D}\n" +
		"routes: [{pool: p}]\n")
	urls, err := backendURLs(nil, data, "http://127.0.0.1:9001,http://127.0.0.1:9002", io.Discard)
	require.NoError(t, err)
	assert.Equal(t, []string{"http://127.0.0.1:9001", "http://127.0.0.1:9002"}, urls)

	var demo serve.Group
	defer demo.Close()
	var out strings.Builder
	urls, err = backendURLs(&demo, data, "", &out)
	require.NoError(t, err)
	assert.Len(t, urls, 2, "demo backends started")
	assert.Equal(t, 2, strings.Count(out.String(), "listening"), "lines:\n%s", out.String())
}
