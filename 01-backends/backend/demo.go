package backend

import (
	"net"

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
// An address given twice is a *serve.UsageError, said as such: the second
// listener would fail, and the usual "is another program using it?" would
// send the user looking for a program that is this one. (Port 0, or no
// port as in "127.0.0.1:", is not an address but a request for a free
// port, so it may repeat.)
func Listen(g *serve.Group, addrs []string) ([]string, error) {
	seen := make(map[string]bool, len(addrs))
	for _, addr := range addrs {
		if _, port, err := net.SplitHostPort(addr); err == nil && port != "0" && port != "" && seen[addr] {
			return nil, serve.Usagef("-listen: %s is given twice; each backend needs an address of its own", addr)
		}
		seen[addr] = true
	}
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
