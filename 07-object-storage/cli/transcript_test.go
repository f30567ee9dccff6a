package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/01-backends/transcript"
)

// The chapter's session with the tool is what the tool prints: the test
// replays testdata/session.txt against a store shaped like the one
// `go run ./07-object-storage` starts, in a directory of its own.
//
// It knows three commands: the tool (`go run ./07-object-storage/cli
// ARGS`), the tool fed by echo (`echo 'TEXT' | go run ...`), and `cat
// FILE`. What `go run` prints when a program fails ("exit status N") is
// expected after stderr. The transcript's metadata server URL stands for
// the test's; any other loopback address (a data server's) and any
// timestamp match any other.
func TestSessionTranscript(t *testing.T) {
	text, err := os.ReadFile("testdata/session.txt")
	require.NoError(t, err)
	cl := newStore(t)
	t.Chdir(t.TempDir())

	const metaURL = "http://127.0.0.1:40341"
	for _, step := range parseSession(t, string(text)) {
		words, err := transcript.Split(strings.ReplaceAll(step.command, metaURL, cl.MetaURL))
		require.NoError(t, err, step.command)
		var got string
		switch {
		case len(words) == 2 && words[0] == "cat":
			data, err := os.ReadFile(words[1])
			require.NoError(t, err, step.command)
			got = string(data)
		default:
			stdin := ""
			if len(words) > 3 && words[0] == "echo" && words[2] == "|" {
				stdin, words = words[1]+"\n", words[3:]
			}
			require.True(t, len(words) > 2 && words[0] == "go" && words[1] == "run" && words[2] == "./07-object-storage/cli",
				"%q: only the tool, echo | the tool, and cat are replayed", step.command)
			r := cli(cl, strings.NewReader(stdin), words[3:]...)
			got = r.stdout + r.stderr
			if r.code != 0 {
				got += fmt.Sprintf("exit status %d\n", r.code)
			}
		}
		got = strings.ReplaceAll(got, cl.MetaURL, metaURL)
		if diff := cmp.Diff(normalize(step.want), normalize(got)); diff != "" {
			t.Errorf("$ %s (-transcript +printed):\n%s", step.command, diff)
		}
	}
}

type sessionStep struct{ command, want string }

func parseSession(t *testing.T, text string) []sessionStep {
	var steps []sessionStep
	for _, line := range strings.SplitAfter(text, "\n") {
		if line == "" {
			continue
		}
		if cmd, ok := strings.CutPrefix(line, "$ "); ok {
			steps = append(steps, sessionStep{command: strings.TrimSuffix(cmd, "\n")})
			continue
		}
		require.NotEmpty(t, steps, "line %q comes before the first $ command", line)
		steps[len(steps)-1].want += line
	}
	return steps
}

var (
	timestamp = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)
	loopback  = regexp.MustCompile(`127\.0\.0\.1:(\d+)`)
)

// normalize makes what no run controls the same in every run: times, and
// addresses other than the metadata server's.
func normalize(s string) string {
	s = timestamp.ReplaceAllString(s, "TIME")
	return loopback.ReplaceAllStringFunc(s, func(addr string) string {
		if addr == "127.0.0.1:40341" {
			return addr
		}
		return "127.0.0.1:PORT"
	})
}
