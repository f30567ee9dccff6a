package rewrite

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/gocourse/gateway/02-single-proxy/proxy"
)

// ParseTargets parses a comma-separated list of backend URLs, such as the
// value of a -targets flag, with proxy.ParseTarget. An empty list is an
// error too: a proxy with nowhere to send requests should not start.
// Errors wrap proxy.ErrBadTarget.
func ParseTargets(list string) ([]*url.URL, error) {
	if strings.TrimSpace(list) == "" {
		return nil, fmt.Errorf("%w: the list is empty; give one or more URLs such as http://127.0.0.1:9001", proxy.ErrBadTarget)
	}
	var targets []*url.URL
	for s := range strings.SplitSeq(list, ",") {
		u, err := proxy.ParseTarget(strings.TrimSpace(s))
		if err != nil {
			return nil, err
		}
		targets = append(targets, u)
	}
	return targets, nil
}
