package multitarget

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkRandom picks from all cores at once: with the global generator
// (no lock) and with a seeded *rand.Rand behind Random's mutex.
func BenchmarkRandom(b *testing.B) {
	for _, src := range []struct {
		name string
		rand *rand.Rand
	}{
		{"global", nil},
		{"seeded+mutex", rand.New(rand.NewPCG(1, 2))},
	} {
		b.Run(src.name, func(b *testing.B) {
			pick, err := Random(urls(b, "http://a", "http://b", "http://c"), src.rand)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				r := httptest.NewRequest(http.MethodGet, "/", nil)
				for pb.Next() {
					if _, err := pick(r); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
