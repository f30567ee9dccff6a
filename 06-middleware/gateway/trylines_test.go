package gateway

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/transcript"
)

// A learner copies a line the program prints under "Try:" into a shell, so
// a curl line must be the command and nothing else: a note after it would
// reach curl as more URLs to fetch, and a parenthesis in the note is a
// shell syntax error. Notes go on lines of their own.
func TestTryLinesAreCommandsOnly(t *testing.T) {
	var out bytes.Buffer
	tryLines(&out, "http://127.0.0.1:8080", "http://127.0.0.1:9090")
	curls := 0
	for _, line := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "curl ") {
			continue
		}
		curls++
		assert.NotContains(t, line, "#", "%q: a shell comment is not a comment in every shell", line)
		words, err := transcript.Split(line)
		require.NoError(t, err, line)
		var urls []string
		for i := 1; i < len(words); i++ {
			switch w := words[i]; {
			case w == "-H" || w == "-X" || w == "-d" || w == "-o" || w == "-w":
				i++ // the option's value
			case !strings.HasPrefix(w, "-"):
				urls = append(urls, w)
			}
		}
		if assert.Len(t, urls, 1, "%q: curl would fetch each of these: %q", line, urls) {
			assert.True(t, strings.HasPrefix(urls[0], "http://127.0.0.1:"), "%q: fetches %q", line, urls[0])
		}
	}
	assert.Equal(t, 7, curls, "curl lines printed:\n%s", out.String())
}
