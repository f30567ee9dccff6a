package config

import (
	"fmt"
	"strings"
)

// An Error is one thing wrong with a configuration file: where it is and
// why it is wrong. It prints as the compilers print theirs,
//
//	gateway.yaml:12: pools.api.balancer: unknown balancer "fastest" (known: ...)
//
// so that an editor can jump to the line.
type Error struct {
	File string
	Line int    // 0 when the problem has no single place
	Path string // the key path, such as pools.api.balancer or routes[2].pool
	Msg  string
}

func (e Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Path != "" {
		b.WriteString(": " + e.Path)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

// Errors is every problem found in a file, in the order of their lines. A
// file is checked to the end, so that one run of -check shows them all,
// not just the first.
type Errors []Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}
