package multitarget_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/gocourse/gateway/04-multi-target/multitarget"
)

// With a seeded source the picks are the same on every run.
func ExampleRandom() {
	var targets []*url.URL
	for _, s := range []string{"http://127.0.0.1:9001", "http://127.0.0.1:9002", "http://127.0.0.1:9003"} {
		u, _ := url.Parse(s)
		targets = append(targets, u)
	}
	pick, _ := multitarget.Random(targets, rand.New(rand.NewPCG(2, 2)))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for range 6 {
		u, _ := pick(r)
		fmt.Println(u.Host)
	}
	// Output:
	// 127.0.0.1:9001
	// 127.0.0.1:9003
	// 127.0.0.1:9002
	// 127.0.0.1:9002
	// 127.0.0.1:9001
	// 127.0.0.1:9003
}
