package meta_test

import (
	"fmt"
	"net/http"
	"strings"
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

// A body that is UTF-8 can still name no character: a JSON escape of half
// a UTF-16 surrogate pair, alone ("\udce9", or "\ud83d" with no low half
// after it). encoding/json reads one as U+FFFD, as it reads a bad byte,
// and the metadata server committed "caf\udce9" as "caf\uFFFD". Such a
// request is a 400 that names the escape, and nothing is stored; a whole
// pair ("\ud83d\ude00", 😀) and an escaped backslash before a "u" are
// strings like any other.
func TestALoneSurrogateIsRefused(t *testing.T) {
	f := newMeta(t, meta.Options{Replicas: 1})
	a := f.dataServer(t, "content")
	bodies := map[string]string{
		"/writes":  `{"key":"%s","hash":"` + string(h("content")) + `","size":7}`,
		"/commits": `{"key":"%s","hash":"` + string(h("content")) + `","size":7,"replicas":["` + a + `"]}`,
	}
	for _, c := range []struct{ path, key, escape string }{
		{"/writes", `caf\udce9`, `\udce9`},
		{"/commits", `caf\udce9`, `\udce9`},
		{"/commits", `caf\ud83d`, `\ud83d`},             // a high half at the end
		{"/commits", `caf\ud83dx`, `\ud83d`},            // and before a character
		{"/commits", `caf\ud83d\ud83d\ude00`, `\ud83d`}, // a high half, then a pair
		{"/commits", `caf\ude00\ud83d`, `\ude00`},       // the halves the wrong way round
		{"/commits", `caf\\\uDCE9`, `\uDCE9`},           // after an escaped backslash
	} {
		body := fmt.Sprintf(bodies[c.path], c.key)
		code, got := f.do(t, http.MethodPost, c.path, body)
		assert.Equal(t, http.StatusBadRequest, code, "%s %s: %s", c.path, body, got)
		want := fmt.Sprintf("bad JSON request: %s at offset %d is half of a UTF-16 surrogate pair, alone: it names no character\n", c.escape, strings.Index(body, c.escape))
		assert.Equal(t, want, got, "%s %s", c.path, body)
	}
	code, body := f.do(t, http.MethodGet, "/keys", nil)
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"objects": []}`, body, "a request with a lone surrogate stored something")

	for _, key := range []string{`caf\ud83d\ude00`, `caf\\udce9`, `caf\ufffd`} {
		body := fmt.Sprintf(bodies["/commits"], key)
		code, got := f.do(t, http.MethodPost, "/commits", body)
		assert.Equal(t, http.StatusCreated, code, "%s: %s", body, got)
	}
}
