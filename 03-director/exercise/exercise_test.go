//go:build exercise

package exercise

import (
	"strings"
	"testing"

	"github.com/gocourse/gateway/03-director/filtertest"
	"github.com/gocourse/gateway/03-director/proxytest"
)

func TestHardened(t *testing.T) {
	proxytest.Run(t, New)
}

func TestPrefix(t *testing.T) {
	filtertest.Run(t, Prefix("> "), WantPrefixed("> "), "ab\n\n")
}

// WantPrefixed is what Prefix(p) must make of s.
func WantPrefixed(p string) func(string) string {
	return func(s string) string {
		var b strings.Builder
		for i := range len(s) {
			if i == 0 || s[i-1] == '\n' {
				b.WriteString(p)
			}
			b.WriteByte(s[i])
		}
		return b.String()
	}
}
