package middleware

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// quotingRule is needsQuoting one rune at a time, without the
// word-at-a-time shortcut: an ASCII control character, space, '=' or '"'
// (not DEL: slog.TextHandler leaves it bare), or another rune that is a
// space, not printable, or not UTF-8.
func quotingRule(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if r < utf8.RuneSelf {
			if r <= ' ' || r == '=' || r == '"' {
				return true
			}
		} else if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}

// TestNeedsQuotingWordAtATime puts every byte value at every position of
// strings of plain characters up to three words long, and runes of several
// bytes across the words' boundaries: needsQuoting must agree with the
// rule every time (TestTextHandlerMatchesSlog checks the rule against
// slog.TextHandler). Then strings of random bytes, mostly ASCII, with
// several bytes to quote in a word: plainWord's byte tests borrow across
// bytes, so one that misses a byte may miss it only beside another.
func TestNeedsQuotingWordAtATime(t *testing.T) {
	for n := 1; n <= 24; n++ {
		for at := range n {
			for c := range 256 {
				b := []byte(strings.Repeat("a", n))
				b[at] = byte(c)
				if s := string(b); needsQuoting(s) != quotingRule(s) {
					t.Errorf("needsQuoting(%q) = %v, want %v", s, needsQuoting(s), quotingRule(s))
				}
			}
		}
	}
	for _, r := range []rune{'é', '\u00a0', '\u2028', '→', '\U0001F600', utf8.RuneError, 0x7f} {
		for pad := range 9 {
			s := strings.Repeat("x", pad) + string(r) + strings.Repeat("y", 9)
			if needsQuoting(s) != quotingRule(s) {
				t.Errorf("needsQuoting(%q) = %v, want %v", s, needsQuoting(s), quotingRule(s))
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		b := make([]byte, 1+r.IntN(24))
		for i := range b {
			if b[i] = byte(r.IntN(128)); r.IntN(16) == 0 {
				b[i] = byte(r.IntN(256))
			}
		}
		if s := string(b); needsQuoting(s) != quotingRule(s) {
			t.Fatalf("needsQuoting(%q) = %v, want %v", s, needsQuoting(s), quotingRule(s))
		}
	}
}
