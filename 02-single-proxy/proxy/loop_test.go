package proxy_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/02-single-proxy/proxy"
)

// A target that is the proxy's own -listen address, written the same way
// or under a loopback name, is refused; an address the proxy does not
// listen on passes.
func TestCheckNotItself(t *testing.T) {
	for _, tc := range []struct {
		target, listen string
		loops          bool
	}{
		{"http://127.0.0.1:8080", "127.0.0.1:8080", true},
		{"http://127.0.0.1:8080/base?x=1", "127.0.0.1:8080", true},
		{"http://localhost:8080", "127.0.0.1:8080", true},
		{"http://LocalHost:8080", "localhost:8080", true},
		{"http://127.0.0.1:8080", "localhost:8080", true},
		{"http://[::1]:8080", "[::1]:8080", true},
		{"http://[::ffff:127.0.0.1]:8080", "127.0.0.1:8080", true},
		{"http://127.0.0.1:8080", ":8080", true},        // every address
		{"http://127.0.0.2:8080", "0.0.0.0:8080", true}, // every address, loopback included
		{"http://[::1]:8080", "[::]:8080", true},        // every address
		{"http://0.0.0.0:8080", "0.0.0.0:8080", true},   // dialling 0.0.0.0 reaches this machine
		{"http://127.0.0.1", "127.0.0.1:80", true},      // the scheme's port
		{"http://127.0.0.1:80", "127.0.0.1:http", true}, // a service name
		{"http://gateway.example:8080", "gateway.example:8080", true},

		{"http://127.0.0.1:9001", "127.0.0.1:8080", false},  // another port
		{"https://127.0.0.1:8080", "127.0.0.1:8080", false}, // a TLS handshake fails: no loop
		{"http://127.0.0.1:8080", "127.0.0.1:0", false},     // a free port is never the target's
		{"http://127.0.0.2:8080", "127.0.0.1:8080", false},  // another loopback address
		{"http://127.0.0.2:8080", "localhost:8080", false},
		{"http://10.0.0.7:8080", "127.0.0.1:8080", false},
		{"http://10.0.0.7:8080", ":8080", false}, // may be this machine: not told without resolving
		{"http://backend.example:8080", "127.0.0.1:8080", false},
	} {
		target, err := proxy.ParseTarget(tc.target)
		require.NoError(t, err)
		err = proxy.CheckNotItself(target, tc.listen)
		if !tc.loops {
			assert.NoError(t, err, "target %s, -listen %s", tc.target, tc.listen)
			continue
		}
		if assert.Error(t, err, "target %s, -listen %s: the proxy would forward every request to itself", tc.target, tc.listen) {
			assert.True(t, errors.Is(err, proxy.ErrBadTarget), "errors.Is(%v, ErrBadTarget)", err)
			assert.ErrorContains(t, err, "the proxy's own address (-listen "+tc.listen+")")
		}
	}
}
