package gateway

import (
	"fmt"
	"strings"

	"github.com/gocourse/gateway/06-middleware/config"
)

// configWarnings returns what cfg allows but should say out loud: for
// now, each route whose rate limit keys clients by a header or a cookie.
// The client writes those itself, and one that sends a new value with
// each request gets a new bucket each time: X-Forwarded-For is only worth
// keying by behind a proxy of your own that sets it. Such a file is
// taken (that is what it is for); the warning names the route, at start,
// at each reload and in -check.
func configWarnings(cfg *config.Config) []string {
	var out []string
	for _, r := range cfg.Routes {
		for _, m := range r.Middleware {
			o, ok := m.Options.(*RateLimitOptions)
			if !ok {
				continue
			}
			if kind, _, _ := strings.Cut(o.Key, ":"); kind == "header" || kind == "cookie" {
				out = append(out, fmt.Sprintf("route %q: rate-limit key %s is the client's to write: a client that sends a new value gets a new bucket; key by it only behind a proxy of your own that sets it (key: ip keys by the connection)", r.Name, o.Key))
			}
		}
	}
	return out
}
