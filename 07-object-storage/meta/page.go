package meta

import (
	"fmt"
	"strconv"
)

// MaxListLimit bounds one page of keys, or of a key's versions.
const MaxListLimit = 1000

// ParseLimit reads a page's limit=: 0 if l is empty (the server's
// maximum), an error that says what is wrong unless it is a number from 1
// to MaxListLimit. The metadata server and the API server, which passes
// the query on, read it alike.
func ParseLimit(l string) (int, error) {
	if l == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 || n > MaxListLimit {
		return 0, fmt.Errorf("limit %q is not a number from 1 to %d", l, MaxListLimit)
	}
	return n, nil
}

// ParseAfterVersion reads a version list's after=: 0 (from the first) if
// a is empty.
func ParseAfterVersion(a string) (uint64, error) {
	if a == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(a, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("after %q is not a version number", a)
	}
	return n, nil
}
