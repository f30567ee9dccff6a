package client_test

import (
	"fmt"
	"io"
	"testing"

	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// pattern yields n bytes that differ per run, without holding them in
// memory, so the benchmark measures Put's memory, not the source's.
type pattern struct {
	n, off int64
	seed   byte
}

func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n-p.off)]
	for i := range b {
		b[i] = byte(p.off+int64(i)) ^ p.seed
	}
	p.off += int64(len(b))
	return len(b), nil
}

// BenchmarkPut shows that Put's memory does not grow with the object:
// B/op stays about the same from 1 MiB to 16 MiB.
func BenchmarkPut(b *testing.B) {
	for _, size := range []int64{1 << 20, 16 << 20} {
		b.Run(fmt.Sprintf("%dMiB", size>>20), func(b *testing.B) {
			cl := newCluster(b, 3, meta.Options{})
			c := cl.client(client.Options{})
			b.SetBytes(size)
			b.ReportAllocs()
			seed := byte(0)
			for b.Loop() {
				seed++
				if _, err := c.Put(ctx, "bench", &pattern{n: size, seed: seed}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGet reads a 4 MiB object: streamed and verified chunk by
// chunk; verified whole through a temporary file (its chunk list
// dropped, as for a blob stored before lists); or from the data cache,
// which takes only blobs up to MemoryLimit: Cached raises that from
// 1 MiB to 8 MiB so that the 4 MiB object fits.
func BenchmarkGet(b *testing.B) {
	for _, bc := range []struct {
		name   string
		opt    client.Options
		noList bool
	}{
		{"Streamed", client.Options{DataCacheBytes: -1}, false},
		{"Whole", client.Options{DataCacheBytes: -1}, true},
		{"Cached", client.Options{MemoryLimit: 8 << 20}, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cl := newCluster(b, 3, meta.Options{})
			c := cl.client(bc.opt)
			const size = 4 << 20
			v, err := c.Put(ctx, "bench", &pattern{n: size})
			if err != nil {
				b.Fatal(err)
			}
			if bc.noList {
				if err := cl.Namespace().DropChunks(v.Hash); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				o, err := c.Get(ctx, "bench", 0)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, o); err != nil {
					b.Fatal(err)
				}
				o.Close()
			}
		})
	}
}
