package proxy_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/gocourse/gateway/01-backends/backend"
	"github.com/gocourse/gateway/02-single-proxy/proxy"
)

// A proxy in front of demo backend A: the client talks to the proxy only,
// and gets backend A's answer, headers included.
func Example() {
	back := httptest.NewServer(backend.New("A"))
	defer back.Close()
	target, err := proxy.ParseTarget(back.URL)
	if err != nil {
		panic(err)
	}
	front := httptest.NewServer(proxy.New(target, nil))
	defer front.Close()

	resp, err := http.Get(front.URL + "/")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Printf("%s X-Backend: %s\n%s", resp.Status, resp.Header.Get("X-Backend"), body)
	// Output:
	// 200 OK X-Backend: A
	// Hello from backend A
}

func ExampleParseTarget() {
	_, err := proxy.ParseTarget("127.0.0.1:9001")
	fmt.Println(err)
	fmt.Println(errors.Is(err, proxy.ErrBadTarget))
	// Output:
	// bad target URL "127.0.0.1:9001": no scheme; did you mean http://127.0.0.1:9001?
	// true
}
