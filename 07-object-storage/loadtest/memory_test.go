package main

import (
	"net/http"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/client"
)

// An object moves through the gateway, an API server and a data server,
// in and out, with a peak heap that does not grow with its size: a PUT
// (spooled), a PUT with the hash sent first (streamed to the data
// servers) and a GET of a 64 MiB object peak no more than 16 MiB above
// those of a 4 MiB one, and under 64 MiB in all (every server and the client are in
// this one process). A server that held an object in memory anywhere on
// the way would add at least 60 MiB.
//
// LOADTEST_HUGE=1 adds a 1 GiB object (slow; run it locally).
func TestMemoryDoesNotGrowWithObjectSize(t *testing.T) {
	c, err := startCluster(t.TempDir(), 1)
	require.NoError(t, err)
	defer c.close()
	l := &load{hc: &http.Client{Transport: client.NewTransport(), Timeout: 5 * time.Minute}}
	tg := target{name: "R=1", url: c.url, apiKey: apiKey}

	sizes := []int64{4 << 20, 64 << 20}
	if os.Getenv("LOADTEST_HUGE") != "" {
		sizes = append(sizes, 1<<30)
	}
	peaks := map[int64]uint64{}
	for _, size := range sizes {
		runtime.GC()
		peak := sampleHeap()
		_, err := l.putLarge(tg, "o", size)
		if err == nil {
			_, err = l.putLargeHashed(tg, "h", size)
		}
		if err == nil {
			_, err = l.getLarge(tg, "o", size)
		}
		peaks[size] = peak()
		require.NoError(t, err, "%d bytes", size)
		t.Logf("%5d MiB object: heap peak %d MiB", size>>20, peaks[size]>>20)
	}
	small := peaks[sizes[0]]
	for _, size := range sizes[1:] {
		assert.Less(t, peaks[size], small+16<<20, "%d MiB object: the heap grew with the object", size>>20)
		assert.Less(t, peaks[size], uint64(64<<20), "%d MiB object", size>>20)
	}
}
