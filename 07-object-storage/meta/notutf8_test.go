package meta_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/07-object-storage/meta"
)

// A key that is not UTF-8 can be sent in JSON as raw bytes (encoding/json
// never writes one, but any other sender can), and encoding/json reads
// each bad byte as U+FFFD: the metadata server took "caf\xe9" for
// "caf\uFFFD", placed it and committed it under that other name, where
// ValidateKey, in a query string, refuses it. A request that is not UTF-8
// (RFC 8259, section 8.1) is a 400 that says so, and nothing is stored.
func TestARequestThatIsNotUTF8IsRefused(t *testing.T) {
	f := newMeta(t, meta.Options{Replicas: 1})
	a := f.dataServer(t, "content")
	for _, c := range []struct{ path, body string }{
		{"/writes", fmt.Sprintf("{\"key\":\"caf\xe9\",\"hash\":%q,\"size\":7}", h("content"))},
		{"/commits", fmt.Sprintf("{\"key\":\"caf\xe9\",\"hash\":%q,\"size\":7,\"replicas\":[%q]}", h("content"), a)},
		// The first byte of a two-byte rune, and no second.
		{"/commits", fmt.Sprintf("{\"key\":\"k\xc3\",\"hash\":%q,\"size\":7,\"replicas\":[%q]}", h("content"), a)},
	} {
		code, body := f.do(t, http.MethodPost, c.path, c.body)
		assert.Equal(t, http.StatusBadRequest, code, "%s %q: %s", c.path, c.body, body)
		assert.Contains(t, body, "not valid UTF-8", "%s %q", c.path, c.body)
	}
	code, body := f.do(t, http.MethodGet, "/keys", nil)
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"objects": []}`, body, "a request that is not UTF-8 stored something")
}
