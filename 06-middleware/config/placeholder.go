package config

import (
	"fmt"
	"regexp"
	"strings"
)

// Placeholder matches what the gateway's program replaces with a
// backend's URL before it parses a file: ${BACKEND_A} to ${BACKEND_Z},
// the demo backends or the -targets, in order (the letter is the
// submatch). Defined here, beside the check that explains one left
// unreplaced, and used by the program to replace them.
var Placeholder = regexp.MustCompile(`\$\{BACKEND_([A-Z])\}`)

// isPlaceholder reports whether raw is one placeholder and nothing else.
func isPlaceholder(raw string) bool {
	loc := Placeholder.FindStringIndex(raw)
	return loc != nil && loc[0] == 0 && loc[1] == len(raw)
}

// unreplaced explains a target that still holds a ${...} once the
// program has replaced what it could. Its author meant it to be replaced,
// so "no scheme; did you mean http://${BACKEND_D}?", which is what
// parsing it as a URL says, would send them the wrong way. A
// ${BACKEND_X} left means the program had no backend for it: it fills
// them at start, and a reload that names one more has none.
func unreplaced(raw string) (msg string, ok bool) {
	switch {
	case isPlaceholder(raw):
		return fmt.Sprintf("%s has no backend: the placeholders are filled once, when the gateway starts, with as many backends as the file then named (or -targets gave); restart it to add one, or write the backend's URL", raw), true
	case strings.Contains(raw, "${"):
		return fmt.Sprintf("%q is not replaced: the gateway reads no environment variables, and replaces only ${BACKEND_A} to ${BACKEND_Z}, with the backends it starts with; write the backend's URL, such as http://127.0.0.1:9001", raw), true
	}
	return "", false
}
