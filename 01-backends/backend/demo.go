package backend

import (
	"github.com/gocourse/gateway/01-backends/serve"
)

// Name returns the demo name of the i-th backend (from 0): A, B, ..., Z,
// then AA, AB, ... as spreadsheet columns are named.
func Name(i int) string {
	if i < 26 {
		return string(rune('A' + i))
	}
	return Name(i/26-1) + Name(i%26)
}

// Listen opens one listener per address, adds a backend named A, B, ... on
// each to g, and returns their base URLs. Later stages call it with
// 127.0.0.1:0 addresses to start the demo backends in their own process.
// If any address cannot be opened, the ones already opened are closed.
func Listen(g *serve.Group, addrs []string) ([]string, error) {
	var opened serve.Group
	urls := make([]string, len(addrs))
	for i, addr := range addrs {
		ln, err := serve.Listen(addr)
		if err != nil {
			opened.Close()
			return nil, err
		}
		opened.Handle(New(Name(i)), ln)
		urls[i] = "http://" + ln.Addr().String()
	}
	g.Merge(&opened)
	return urls, nil
}
