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
// An address given twice is a *serve.UsageError, said as such, before
// anything listens: the second listener would fail, and the usual "is
// another program using it?" would send the user looking for a program
// that is this one. Two spellings of one address ("localhost:9201" and
// "127.0.0.1:9201") are one address (see sameAddress). Port 0, or no
// port as in "127.0.0.1:", is not an address but a request for a free
// port, so it may repeat.
func Listen(g *serve.Group, addrs []string) ([]string, error) {
	seen := make(map[string]string, len(addrs)) // an address, and how it was first written
	for _, addr := range addrs {
		same, ok := sameAddress(addr)
		first, given := seen[same]
		switch {
		case !ok:
		case given && first == addr:
			return nil, serve.Usagef("-listen: %s is given twice; each backend needs an address of its own", addr)
		case given:
			return nil, serve.Usagef("-listen: %s and %s are one address, %s, given twice; each backend needs an address of its own", first, addr, same)
		default:
			seen[same] = addr
		}
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
