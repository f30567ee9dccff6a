package gateway

import (
	"fmt"
	"regexp"

	"go.yaml.in/yaml/v3"

	"github.com/gocourse/gateway/06-middleware/config"
)

// exampleURLs stand for ${BACKEND_A} to ${BACKEND_Z} where no backend is
// at hand (-check, and counting the backends a file needs). Their host
// names end in .invalid, which no file names (RFC 6761): an address, such
// as stage 01's 127.0.0.1:9001, would make a pool that also lists it a
// duplicate to -check and not to a start, whose demo backends take other
// ports.
func exampleURLs() []string {
	urls := make([]string, 26)
	for i := range urls {
		urls[i] = fmt.Sprintf("http://backend-%c.invalid", 'a'+i)
	}
	return urls
}

// exampleHost finds an example URL in a value, and which backend it is.
var exampleHost = regexp.MustCompile(`backend-([a-z])\.invalid`)

// backendsNeeded returns how many backends data's placeholders call for:
// one past the highest ${BACKEND_X} a value of the file holds. One in a
// comment names no backend, and the built-in file's first lines, which a
// copy keeps, speak of three: so each placeholder is replaced by its
// example URL, and the values the YAML parser reads, comments left out,
// are searched for them. A file that does not parse counts every
// placeholder: its syntax error stops it anyway.
func backendsNeeded(data []byte) int {
	all := 0
	for _, m := range config.Placeholder.FindAllSubmatch(data, -1) {
		all = max(all, int(m[1][0]-'A')+1)
	}
	var root yaml.Node
	if all == 0 || yaml.Unmarshal(substitute(data, exampleURLs()), &root) != nil {
		return all
	}
	need := 0
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode {
			for _, m := range exampleHost.FindAllStringSubmatch(n.Value, -1) {
				need = max(need, int(m[1][0]-'a')+1)
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&root)
	return need
}
