package balancer_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gocourse/gateway/05-balancers/balancer"
)

// BenchmarkPick measures one Pick and its Report, for every balancer, at
// 3 to 1000 backends of weights 1, 2, 3, 1, 2, 3, ..., from one goroutine
// (serial) and from GOMAXPROCS goroutines (parallel).
//
//	go test -run '^$' -bench Pick -benchmem ./05-balancers/balancer
func BenchmarkPick(b *testing.B) {
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprint("user-", i)
	}
	for _, name := range balancer.Names() {
		for _, n := range []int{3, 10, 100, 1000} {
			bal := newWith(b, name, n, balancer.Options{})
			for i := range 6000 { // let Maglev fill its table and SWRR record its period
				id, _ := bal.Pick(keys[i%len(keys)])
				bal.Report(id, balancer.Success)
			}
			b.Run(fmt.Sprintf("%s/n=%d/serial", name, n), func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					id, _ := bal.Pick(keys[i%len(keys)])
					bal.Report(id, balancer.Success)
					i++
				}
			})
			b.Run(fmt.Sprintf("%s/n=%d/parallel", name, n), func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						id, _ := bal.Pick(keys[i%len(keys)])
						bal.Report(id, balancer.Success)
						i++
					}
				})
			})
		}
	}
}

// BenchmarkPickAllDown measures a Pick when every one of 1,000 backends is
// down: the hash balancers must not walk their whole ring or table to
// find that out.
func BenchmarkPickAllDown(b *testing.B) {
	for _, name := range balancer.Names() {
		bal := newWith(b, name, 1000, balancer.Options{Health: balancer.Health{FailTimeout: time.Hour}})
		id, _ := bal.Pick("user-1") // let Maglev fill its table
		bal.Report(id, balancer.Success)
		for i := range 1000 {
			bal.Report(fmt.Sprint("b", i), balancer.Failure) // max_fails 1: down
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bal.Pick("user-1"); err == nil {
					b.Fatal("a pick succeeded with every backend down")
				}
			}
		})
	}
}
