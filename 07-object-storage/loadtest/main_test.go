package main

import (
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/client"
)

// The command runs every workload on the baseline and a store, in
// rounds, and prints one row per workload with the rates and the ratio.
func TestRunPrintsTheTable(t *testing.T) {
	var out strings.Builder
	err := run([]string{"-dir", t.TempDir(), "-large", "2MiB", "-count", "40", "-duration", "2s", "-rounds", "2", "-replicas", "1"}, &out)
	require.NoError(t, err)
	for _, row := range []string{"PUT 2 MiB ", "PUT 2 MiB, hash sent", "GET 2 MiB, cold", "PUT 4 KiB x16", "GET 4 KiB x16, cached in gateway", "GET 4 KiB x16, cached in API", "medians of 2 rounds"} {
		assert.Contains(t, out.String(), row)
	}
	assert.Equal(t, 8, strings.Count(out.String(), "\n"), out.String()) // a header, six rows, a footnote
}

// Each round puts content of its own: a round that found the last one's
// blob stored would measure deduplication, not a write.
func TestRoundsPutDifferentContent(t *testing.T) {
	c, err := startCluster(t.TempDir(), 1)
	require.NoError(t, err)
	defer c.close()
	l := &load{hc: &http.Client{Transport: client.NewTransport()}, stored: map[string]int{}}
	tg := target{name: "R=1", url: c.url, apiKey: apiKey}
	etags := map[string]bool{}
	for round := range 2 {
		l.round = round
		_, err := l.putLarge(tg, "o", 2<<20)
		require.NoError(t, err)
		_, err = l.putLargeHashed(tg, "h", 2<<20)
		require.NoError(t, err)
		for _, key := range []string{"o", "h"} {
			req, _ := http.NewRequest(http.MethodHead, c.url+l.path(key), nil)
			req.Header.Set("X-Api-Key", apiKey)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			etags[resp.Header.Get("ETag")] = true
		}
	}
	assert.Len(t, etags, 4, "two workloads, two rounds: four blobs")
}

func TestMedian(t *testing.T) {
	rs := []result{{rate: 3}, {rate: 1}, {rate: 2}}
	rate := func(_ int, r result) float64 { return r.rate }
	assert.Equal(t, 2.0, median(rs, rate))
	assert.Equal(t, 2.5, median(append(rs, result{rate: 4}), rate))
	base := []float64{10, 1, 4}
	assert.Equal(t, 0.5, median(rs, func(i int, r result) float64 { return r.rate / base[i] }), "ratios 0.3, 1, 0.5")
}

// The generator's content: the length asked for, the same for the same
// seed and salt, different for another seed, another salt, and in every
// MiB of one object.
func TestPatternContent(t *testing.T) {
	read := func(p *pattern) []byte {
		b, err := io.ReadAll(p)
		require.NoError(t, err)
		return b
	}
	const size = 3<<20 + 5
	a := read(&pattern{n: size, seed: 1, salt: 7})
	require.Len(t, a, size)
	assert.Equal(t, a, read(&pattern{n: size, seed: 1, salt: 7}))
	assert.NotEqual(t, a, read(&pattern{n: size, seed: 2, salt: 7}))
	assert.NotEqual(t, a, read(&pattern{n: size, seed: 1, salt: 8}))
	mibs := map[string]bool{}
	for i := 0; i+1<<20 <= size; i += 1 << 20 {
		mibs[string(a[i:i+1<<20])] = true
	}
	assert.Len(t, mibs, 3, "every MiB differs")
	// Read in odd pieces: the same bytes.
	p := &pattern{n: size, seed: 1, salt: 7}
	var b []byte
	buf := make([]byte, 3)
	for {
		n, err := p.Read(buf)
		b = append(b, buf[:n]...)
		if err == io.EOF {
			break
		}
	}
	assert.Equal(t, a, b)
}

// A ratio pairs each round of a store with the baseline's same round:
// here 0.5, 0.5 and 0.75, a median of 0.5, where the ratio of the two
// medians (3 and 4) would say 0.75.
func TestRatioIsTakenWithinARound(t *testing.T) {
	baseline := []result{{rate: 8}, {rate: 2}, {rate: 4}}
	store := []result{{rate: 4}, {rate: 1}, {rate: 3}}
	assert.Equal(t, 0.5, ratio(store, baseline))
}

// Every other round runs the targets the other way round; the targets
// passed in are left as they were.
func TestRoundsAlternateTheOrder(t *testing.T) {
	targets := []target{{name: "baseline"}, {name: "R=1"}, {name: "R=2"}}
	names := func(ts []target) (n []string) {
		for _, t := range ts {
			n = append(n, t.name)
		}
		return n
	}
	assert.Equal(t, []string{"baseline", "R=1", "R=2"}, names(inOrder(targets, 0)))
	assert.Equal(t, []string{"R=2", "R=1", "baseline"}, names(inOrder(targets, 1)))
	assert.Equal(t, []string{"baseline", "R=1", "R=2"}, names(inOrder(targets, 2)))
	assert.Equal(t, "baseline", targets[0].name)
}

// Every round writes its large objects at a path of its own, on every
// target: the baseline keeps earlier rounds' files, as the store keeps
// earlier rounds' objects.
func TestEachRoundHasItsOwnPaths(t *testing.T) {
	l := &load{}
	first := l.path("large")
	l.round = 1
	assert.NotEqual(t, first, l.path("large"))
}

// A cached GET workload that runs longer than the API servers keep
// metadata is refused: its last GETs would ask the metadata server, and
// the row would not measure what it is called.
func TestCachedGetRefusesARunPastTheCacheTTL(t *testing.T) {
	c, err := startCluster(t.TempDir(), 1)
	require.NoError(t, err)
	defer c.close()
	tg := target{name: "R=1", url: c.url, apiKey: apiKey}
	l := &load{hc: &http.Client{Transport: client.NewTransport()}, stored: map[string]int{},
		o: options{small: 4096, objects: 20, clients: 2, duration: time.Minute}}
	_, err = l.putSmall(tg)
	require.NoError(t, err)

	for _, tier := range []cacheTier{inGateway, inAPIServer} {
		l.cacheTTL = time.Minute
		_, err = l.getSmall(tg, tier)
		assert.NoError(t, err, "a run well within the TTL")

		l.cacheTTL = time.Nanosecond // every run takes longer
		_, err = l.getSmall(tg, tier)
		assert.ErrorIs(t, err, errPastCacheTTL)
	}
}

// The cached GET workload is served by the API servers alone: after the
// warm-up (one metadata lookup and one blob read a key, through the
// gateway, which sends a key to the same API server every time), its
// 400 GETs of 40 keys reach neither the metadata server nor a data
// server. A gateway that spread a key over both API servers, or a cache
// that missed, would add hundreds.
func TestCachedGetStaysInTheAPIServers(t *testing.T) {
	c, err := startCluster(t.TempDir(), 1)
	require.NoError(t, err)
	defer c.close()
	tg := target{name: "R=1", url: c.url, apiKey: apiKey, behind: c.behind.Load, apiCalls: c.apiCalls.Load}
	l := &load{hc: newHTTPClient(4), stored: map[string]int{},
		o: options{small: 4096, objects: 40, clients: 4, duration: time.Minute}}
	_, err = l.putSmall(tg)
	require.NoError(t, err)

	// As in a run, the gateway's tier first. Each tier reads keys of its
	// own (20 of the 40 here), so that this tier's warm-up is the first
	// read of its keys, and their metadata is fetched then: keys the
	// gateway's tier had read would have been cached since, and could run
	// out under the timed GETs.
	l.o.objects = 400
	_, err = l.getSmall(tg, inGateway)
	require.NoError(t, err)
	before, beforeAPI := c.behind.Load(), c.apiCalls.Load()
	_, err = l.getSmall(tg, inAPIServer)
	require.NoError(t, err)
	behind, api := c.behind.Load()-before, c.apiCalls.Load()-beforeAPI
	const keys = 20
	assert.GreaterOrEqual(t, behind, int64(keys), "the warm-up reads every key once: keys the gateway's tier did not read")
	assert.LessOrEqual(t, behind, int64(2*keys), "requests behind the API servers: the warm-up's, no more")
	assert.Equal(t, int64(keys+400), api, "no-cache takes the warm-up and every timed GET past the gateway's cache")
}

// The workload of GETs the gateway's cache answers stays in the gateway:
// after the warm-up (one GET a key, which the API servers answer with an
// s-maxage), its 400 GETs of 40 keys reach no API server.
func TestCachedGetStaysInTheGateway(t *testing.T) {
	c, err := startCluster(t.TempDir(), 1)
	require.NoError(t, err)
	defer c.close()
	tg := target{name: "R=1", url: c.url, apiKey: apiKey, behind: c.behind.Load, apiCalls: c.apiCalls.Load}
	l := &load{hc: newHTTPClient(4), stored: map[string]int{},
		o: options{small: 4096, objects: 40, clients: 4, duration: time.Minute}}
	_, err = l.putSmall(tg)
	require.NoError(t, err)

	l.o.objects = 400
	before := c.apiCalls.Load()
	_, err = l.getSmall(tg, inGateway)
	require.NoError(t, err)
	assert.Equal(t, int64(20), c.apiCalls.Load()-before, "the warm-up's GETs, one a key (half the 40 stored: the other tier reads the rest), and none of the workload's")
}

// A workload of GETs the gateway's cache should answer, some of which
// reach an API server, is refused: here the API servers' metadata caches
// keep nothing, so their answers give a shared cache no lifetime and the
// gateway keeps none of them.
func TestCachedGetRefusesGetsThatLeaveTheGateway(t *testing.T) {
	c, err := startCluster(t.TempDir(), 1, func(o *client.Options) { o.MetaCacheEntries = -1 })
	require.NoError(t, err)
	defer c.close()
	tg := target{name: "R=1", url: c.url, apiKey: apiKey, apiCalls: c.apiCalls.Load}
	l := &load{hc: newHTTPClient(4), stored: map[string]int{}, cacheTTL: time.Minute,
		o: options{small: 4096, objects: 40, clients: 4, duration: time.Minute}}
	_, err = l.putSmall(tg)
	require.NoError(t, err)
	_, err = l.getSmall(tg, inGateway)
	assert.ErrorIs(t, err, errNotCachedInGateway)
}

// A cached GET workload whose GETs leave the API servers is refused, not
// reported as cached: here the API servers' data caches hold nothing, so
// every GET reads its blob from a data server. In a measured run that
// could come of a gateway that moved keys to the other API server (one
// failure marks a target down for 10 s, and its retry hides the failure),
// or of a cache that evicted them.
func TestCachedGetRefusesGetsThatLeaveTheAPIServers(t *testing.T) {
	c, err := startCluster(t.TempDir(), 1, func(o *client.Options) { o.DataCacheBytes = 1 })
	require.NoError(t, err)
	defer c.close()
	tg := target{name: "R=1", url: c.url, apiKey: apiKey, behind: c.behind.Load}
	l := &load{hc: newHTTPClient(4), stored: map[string]int{}, cacheTTL: time.Minute,
		o: options{small: 4096, objects: 40, clients: 4, duration: time.Minute}}
	_, err = l.putSmall(tg)
	require.NoError(t, err)
	_, err = l.getSmall(tg, inAPIServer)
	assert.ErrorIs(t, err, errNotCached)
}

// A flag that would make a workload do nothing, or a size that does not
// fit in an int64, is refused before anything starts: a rate of 0, or a
// ratio of NaN, in the table would look like a measurement.
func TestRunRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-clients", "0"},
		{"-count", "0"},
		{"-duration", "0s"},
		{"-large", "0"},
		{"-small", "0"},
		{"-large", "18014398509481985KiB"}, // (2^54+1) KiB: 1 KiB once it wraps
		{"-huge", "-1"},
		{"-replicas", "1,1"}, // two stores in one directory, one column
	} {
		var out strings.Builder
		// Small workloads, should a flag get through: later flags win.
		base := []string{"-dir", t.TempDir(), "-large", "1MiB", "-count", "8", "-duration", "1s", "-rounds", "1", "-replicas", "1"}
		err := run(append(base, args...), &out)
		assert.Equal(t, 2, exitCode(io.Discard, err), "%v: a bad command line (%v)", args, err)
		assert.Empty(t, out.String(), "%v", args)
	}
}

// A row is named by its size in the largest unit that divides it, so
// that a size that is not a whole number of MiB is not shown as less.
func TestSizeName(t *testing.T) {
	for n, want := range map[int64]string{4096: "4 KiB", 256 << 20: "256 MiB", 1 << 30: "1024 MiB", 1000: "1000 B", 1536 << 10: "1536 KiB"} {
		assert.Equal(t, want, sizeName(n))
	}
}

// A -dir that holds an earlier run's files is refused: the content of a
// run is the same every time, so a store there would find every object
// stored already (a deduplicated PUT skips the write), and the baseline
// would overwrite its files in place.
func TestRunRefusesADirectoryInUse(t *testing.T) {
	dir := t.TempDir()
	args := []string{"-dir", dir, "-large", "1MiB", "-count", "8", "-duration", "1s", "-rounds", "1", "-replicas", "1", "-only", "PUT 1 MiB"}
	var out strings.Builder
	require.NoError(t, run(args, &out), "an empty directory")
	out.Reset()
	err := run(args, &out)
	assert.ErrorContains(t, err, "not empty")
	assert.Empty(t, out.String())
	// A directory that does not exist yet is made.
	assert.NoError(t, run(append(args, "-dir", filepath.Join(dir, "new")), &out))
}

// A closed cluster lets go of its directories: a second one can start on
// them in the same process.
func TestClusterCloseReleasesItsDirectory(t *testing.T) {
	dir := t.TempDir()
	c, err := startCluster(dir, 1)
	require.NoError(t, err)
	c.close()
	c, err = startCluster(dir, 1)
	require.NoError(t, err)
	c.close()
}

// The load test exits as every program of the course: -h prints the
// usage and is no error (0, no "flag: help requested" line); a bad
// command line is 2, its error named and followed by where the flags are;
// anything else 1.
func TestExitCodes(t *testing.T) {
	var stderr strings.Builder
	assert.Equal(t, 0, exitCode(&stderr, run([]string{"-h"}, io.Discard)))
	assert.Empty(t, stderr.String())

	stderr.Reset()
	assert.Equal(t, 2, exitCode(&stderr, run([]string{"-rounds", "0"}, io.Discard)), "a bad value is a bad command line")
	assert.Equal(t, "loadtest: -rounds 0: want at least 1\nRun 'loadtest -h' for the flags.\n", stderr.String())

	stderr.Reset()
	assert.Equal(t, 2, exitCode(&stderr, run([]string{"-large", "big"}, io.Discard)))
	assert.Equal(t, "loadtest: -large \"big\" is not a size such as 256MiB\nRun 'loadtest -h' for the flags.\n", stderr.String())

	// An unknown flag: the flag package has printed it with the usage
	// (not to this stderr), so the error is not printed a second time.
	stderr.Reset()
	assert.Equal(t, 2, exitCode(&stderr, run([]string{"-nope"}, io.Discard)))
	assert.Empty(t, stderr.String())

	stderr.Reset()
	assert.Equal(t, 1, exitCode(&stderr, errors.New("the baseline: connection refused")))
	assert.Equal(t, "loadtest: the baseline: connection refused\n", stderr.String())
}
