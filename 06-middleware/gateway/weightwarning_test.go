package gateway

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// random and roundrobin take a target's weight and ignore it, where
// nginx's round robin is weighted: a file that gives weights to such a
// pool is taken, but the gateway says that every backend gets an equal
// share, naming the pool, at start and in -check (and at each reload, as
// every configWarnings). A weight of 1, and weights given to a balancer
// that reads them, are not warned of.
func TestWeightsABalancerIgnoresAreWarnedOf(t *testing.T) {
	text := `
pools:
  plain: {targets: ["${BACKEND_A}", {url: "${BACKEND_B}", weight: 3}]}
  rnd: {balancer: random, targets: [{url: "${BACKEND_A}", weight: 1}, {url: "${BACKEND_B}", weight: 2}]}
  ones: {balancer: roundrobin, targets: [{url: "${BACKEND_A}", weight: 1}, "${BACKEND_B}"]}
  sw: {balancer: swrr, targets: [{url: "${BACKEND_A}", weight: 5}, "${BACKEND_B}"]}
routes:
  - {pool: plain}
  - {path: /r, pool: rnd}
  - {path: /o, pool: ones}
  - {path: /s, pool: sw}
`
	warnings := []string{
		`pool "plain": roundrobin ignores weights (targets[1] has weight 3): each backend gets an equal share; swrr is the weighted round robin (nginx's)`,
		`pool "rnd": random ignores weights (targets[1] has weight 2): each backend gets an equal share; swrr is the weighted round robin (nginx's)`,
	}
	file := filepath.Join(t.TempDir(), "weights.yaml")
	require.NoError(t, os.WriteFile(file, []byte(text), 0o644))
	var out strings.Builder
	require.NoError(t, Run(context.Background(), []string{"-check", file}, &out), "the file is taken")
	assert.Equal(t, file+": ok\n"+file+": warning: "+warnings[0]+"\n"+file+": warning: "+warnings[1]+"\n", out.String(), "-check")

	srvs := backends(t, 2)
	src := &fakeSource{text: strings.NewReplacer("${BACKEND_A}", srvs[0].URL, "${BACKEND_B}", srvs[1].URL).Replace(text)}
	var log lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := New(ctx, src.read, Options{ManualChecks: true, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	require.NoError(t, err)
	defer g.Close()
	for _, w := range warnings {
		assert.Equal(t, 1, strings.Count(log.String(), "level=WARN msg="+strconv.Quote(w)), "at start: %s\nlog:\n%s", w, log.String())
	}
	assert.NotContains(t, log.String(), `pool \"ones\"`)
	assert.NotContains(t, log.String(), `pool \"sw\"`)
}
