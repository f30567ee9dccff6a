package transcript

import (
	"fmt"
	"slices"
	"strings"
)

// addresses pairs each address the transcript shows (127.0.0.1:9001) with
// the one the program really printed (127.0.0.1:41763).
type addresses struct{ want, got []string }

// pairAddresses pairs addresses by the order of their first appearance in
// the program's start-up lines.
func pairAddresses(want, got []string) (addresses, error) {
	w := distinct(anyPort.FindAllString(strings.Join(want, "\n"), -1))
	g := distinct(anyPort.FindAllString(strings.Join(got, "\n"), -1))
	if len(w) != len(g) {
		return addresses{}, fmt.Errorf("the transcript's start-up lines show %d addresses %v, the program printed %d %v", len(w), w, len(g), g)
	}
	return addresses{want: w, got: g}, nil
}

func distinct(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// toGot rewrites a transcript command to use the program's real addresses.
func (a addresses) toGot(s string) string { return replace(s, a.want, a.got) }

// toWant rewrites the program's output to use the transcript's addresses.
func (a addresses) toWant(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = replace(l, a.got, a.want)
	}
	return out
}

// replace swaps each whole address from[i] in s for to[i].
func replace(s string, from, to []string) string {
	return anyPort.ReplaceAllStringFunc(s, func(addr string) string {
		if i := slices.Index(from, addr); i >= 0 {
			return to[i]
		}
		return addr
	})
}
