package rewrite

import (
	"strings"
	"testing"

	"github.com/gocourse/gateway/03-director/filtertest"
)

func TestUpperIsAFilter(t *testing.T) {
	filtertest.Run(t, Upper, strings.ToUpper, "abcXYZ \n")
}

func TestReplaceIsAFilter(t *testing.T) {
	for _, tc := range []struct {
		old, new, alphabet string
		extra              []string
	}{
		{"foo", "ba", "fo ba", []string{"fofoo", "foofoo", "ffoo", "fo"}},
		{"aaa", "b", "ab", []string{"aaaa", "aa"}},
		{"backend", "server with a longer name", "backend ", nil},
		{"x", "", "xy", nil},
	} {
		t.Run(tc.old+" to "+tc.new, func(t *testing.T) {
			filtertest.Run(t, Replace(tc.old, tc.new), func(s string) string {
				return strings.ReplaceAll(s, tc.old, tc.new)
			}, tc.alphabet, tc.extra...)
		})
	}
}
