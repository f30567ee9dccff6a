package rewrite

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gocourse/gateway/01-backends/backend"
)

// block holds whole copies of backend.Pattern.
var block = []byte(strings.Repeat(backend.Pattern, 32<<10/len(backend.Pattern)))

// pattern is an endless reader of backend.Pattern that allocates nothing.
type pattern struct{ off int }

func (p *pattern) Read(b []byte) (int, error) {
	n := copy(b, block[p.off:])
	p.off = (p.off + n) % len(backend.Pattern)
	return n, nil
}

var sizes = []int64{64 << 10, 1 << 20, 16 << 20}

// BenchmarkFilter runs each filter over bodies of growing size: B/op must
// stay flat while MB/s stays about the same.
func BenchmarkFilter(b *testing.B) {
	for _, f := range []struct {
		name   string
		filter func(io.Reader) io.Reader
	}{
		{"Upper", Upper},
		{"Replace", Replace("xyz", "XYZ!")},
	} {
		for _, size := range sizes {
			b.Run(fmt.Sprintf("%s/%dKiB", f.name, size>>10), func(b *testing.B) {
				b.SetBytes(size)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := io.Copy(io.Discard, f.filter(io.LimitReader(&pattern{}, size))); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// discard is a ResponseWriter that keeps nothing, so a benchmark measures
// the proxy and not a recorder's buffer.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Flush()                      {}

// BenchmarkProxyBody sends /bytes/{size} through the proxy, with and
// without the Upper filter: the filter's memory per request does not
// depend on the body's size either.
func BenchmarkProxyBody(b *testing.B) {
	srv := httptest.NewServer(backend.New("A"))
	defer srv.Close()
	target, _ := ParseTargets(srv.URL)
	for _, mode := range []struct {
		name string
		opts Options
	}{
		{"plain", Options{}},
		{"Upper", Options{Transform: Upper}},
	} {
		p := New(target[0], mode.opts)
		for _, size := range []int64{64 << 10, 16 << 20} {
			b.Run(fmt.Sprintf("%s/%dKiB", mode.name, size>>10), func(b *testing.B) {
				req := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/bytes/%d", size), nil)
				b.SetBytes(size)
				b.ReportAllocs()
				for b.Loop() {
					p.ServeHTTP(&discard{h: http.Header{}}, req)
				}
			})
		}
	}
}
