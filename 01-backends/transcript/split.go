package transcript

import (
	"errors"
	"strings"
)

// Split splits a command line into words the way a POSIX shell does for the
// simple cases a transcript uses: spaces separate words, and 'single' or
// "double" quotes keep spaces and special characters inside one word.
func Split(line string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		in    bool // inside a word
		quote rune
	)
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, errors.New("unterminated quote in " + line)
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}
