package proxy_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/02-single-proxy/proxy"
)

func TestParseTargetAcceptsBaseURLs(t *testing.T) {
	for _, s := range []string{
		"http://127.0.0.1:9001",
		"http://127.0.0.1:9001/",
		"https://backend.internal/base?key=k",
		"http://[::1]:9001",
		"http://127.0.0.1:1", "http://127.0.0.1:65535", // the bounds of a port
	} {
		u, err := proxy.ParseTarget(s)
		require.NoError(t, err, s)
		assert.Equal(t, s, u.String())
	}
}

// Each bad URL is rejected with ErrBadTarget and a reason that says what
// a good one looks like.
func TestParseTargetRejectsWhatAProxyCannotUse(t *testing.T) {
	tests := []struct{ in, reason string }{
		{"", "empty; want a URL such as http://127.0.0.1:9001"},
		{"127.0.0.1:9001", "no scheme; did you mean http://127.0.0.1:9001?"},
		{"localhost:9001", "no scheme; did you mean http://localhost:9001?"},
		{"ftp://127.0.0.1:9001", `scheme "ftp"; want a URL that starts with http:// or https://`},
		{"http://", "no host"},
		{"http:///path", "no host"},
		{"http://:9001", `"http://:9001": no host`}, // a port alone: Go would dial this machine, and send Host ":9001"
		{"http://:", "no host"},
		{"http://u:secret@:9001", `"http://u:xxxxx@:9001": no host`},
		{"http://[::1", "missing ']' in host"},
		{"http://127.0.0.1:99999", "port 99999; want a number from 1 to 65535"},
		{"http://127.0.0.1:0", "port 0"},
		{"http://127.0.0.1:65536", "port 65536"},
		{"http://user:secret@127.0.0.1:9001", `"http://user:xxxxx@127.0.0.1:9001": credentials (user:password@) are not sent`},
		{"http://token@backend.internal", "credentials"},
		{"ftp://u:secret@h", `"ftp://u:xxxxx@h": scheme "ftp"`},
		{"http://u:secret@h:abc", `"http://u:xxxxx@h:abc": it does not parse as a URL`},
		{"http://user:se/cret@host:9001", `"http://user:xxxxx@host:9001": it does not parse as a URL`},
		{"http://user:se#cret@host:9001", `"http://user:xxxxx@host:9001": it does not parse as a URL`},
		{"http://user:s%zzecret@host:9001", `"http://user:xxxxx@host:9001": it does not parse as a URL`},
		{"user:se/cret@host:9001", `"user:xxxxx@host:9001": no scheme`},
		{"user:secret@host:9001/?next=http://x", `"user:xxxxx@host:9001/?next=http://x": no scheme`}, // "://" in the query is no scheme's
		{"u:secret@h/x://y", `"u:xxxxx@h/x://y": no scheme`},
		{"localhost:9001/?next=http://x", "no scheme; did you mean http://localhost:9001/?next=http://x?"},
		{"127.0.0.1:9001/login?from=https://a", "no scheme; did you mean http://127.0.0.1:9001/login?from=https://a?"},
		{"u:secret@h:1/p@q", `"u:xxxxx@q": no scheme; did you mean http://u:xxxxx@q?`}, // over-masked: "@" in a path
		{"http://u:secret@h:0", `"http://u:xxxxx@h:0": credentials`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, err := proxy.ParseTarget(tt.in)
			assert.Nil(t, u)
			require.ErrorIs(t, err, proxy.ErrBadTarget)
			assert.ErrorContains(t, err, tt.reason)
			assert.NotContains(t, err.Error(), "secret", "an error message may be logged: no password in it")
		})
	}
}
