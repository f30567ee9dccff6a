package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// BenchmarkDurableWork measures, with no network and no HTTP, the work
// on disk that a small PUT waits for, as the load test's "PUT 4 KiB
// x16" row makes it: sixteen writers at once, each writing 4 KiB
// objects of its own, the blobs spread over three blob.Disks (the
// cluster's three data servers, at R=1) and the versions committed to
// one namespace.
//
//   - baseline: the baseline's PUT (writeSynced: create a file, write,
//     fsync it);
//   - blob: a data server's (blob.Disk.Put: a temporary file, its fsync,
//     a rename into place, the directory's fsync);
//   - commit: the metadata server's (meta.Namespace.Commit: a version
//     written in a bbolt transaction, shared with the commits waiting
//     beside it, which syncs the database file twice);
//   - blob-then-commit: both, one after the other, as a PUT at R=1 does
//     them.
//
// The store's row in the load test cannot beat blob-then-commit's rate,
// whatever its exchanges cost: its ratio to baseline's is the ceiling
// of the row's ratio on this disk. Run it with -count so that the four
// alternate: this machine's disk flushes faster or slower for minutes
// at a time, and only rates measured side by side compare.
func BenchmarkDurableWork(b *testing.B) {
	for _, work := range []string{"baseline", "blob", "commit", "blob-then-commit"} {
		b.Run(work, func(b *testing.B) {
			dir := b.TempDir()
			var disks []*blob.Disk
			for i := range 3 {
				d, err := blob.OpenDisk(filepath.Join(dir, fmt.Sprintf("data%d", i+1)))
				require.NoError(b, err)
				defer d.Close()
				disks = append(disks, d)
			}
			ns, err := meta.OpenNamespace(filepath.Join(dir, "meta.db"))
			require.NoError(b, err)
			defer ns.Close()

			var next atomic.Uint64
			b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0))) // 16 goroutines on 2 CPUs
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				content := make([]byte, 4<<10)
				for pb.Next() {
					n := next.Add(1)
					binary.BigEndian.PutUint64(content, n) // no two alike: no deduplication
					if err := durableWork(work, dir, disks[n%3], ns, n, content); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
		})
	}
}

// durableWork does one write's work of the kind named, for object n.
func durableWork(work, dir string, disk *blob.Disk, ns *meta.Namespace, n uint64, content []byte) error {
	key := fmt.Sprintf("small/%08d", n)
	hash := blob.Sum(content)
	if work == "baseline" {
		return writeSynced(filepath.Join(dir, "baseline", "objects", filepath.FromSlash(key)), bytes.NewReader(content))
	}
	if work != "commit" {
		if _, err := disk.Put(hash, bytes.NewReader(content)); err != nil {
			return err
		}
	}
	if work != "blob" {
		req := meta.CommitRequest{Key: key, Hash: hash, Size: int64(len(content)), Replicas: []string{"data-1"}}
		if _, err := ns.Commit(req, time.Now()); err != nil {
			return err
		}
	}
	return nil
}
