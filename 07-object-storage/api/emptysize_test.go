package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// An empty object has a size, 0, and says so in every answer that
// describes it: the PUT's, the listing's and /versions'. With the size
// left out when it is zero, a JSON client read no size at all for it, as
// for a delete marker, which has none and keeps saying none.
func TestAnEmptyObjectSaysItsSizeIsZero(t *testing.T) {
	f := newAPI(t)
	resp, body := f.do(t, http.MethodPut, "/objects/empty", strings.NewReader(""))
	require.Equal(t, http.StatusCreated, resp.StatusCode, body)
	resp, marker := f.do(t, http.MethodPut, "/objects/gone", strings.NewReader("x"))
	require.Equal(t, http.StatusCreated, resp.StatusCode, marker)
	resp, marker = f.do(t, http.MethodDelete, "/objects/gone", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, marker)
	resp, listing := f.do(t, http.MethodGet, "/objects/?prefix=empty", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, listing)
	resp, versions := f.do(t, http.MethodGet, "/versions/gone", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, versions)

	// sizes decodes every "size" of an answer: a number, or nil where
	// there is none.
	sizes := func(answer string, path ...string) []any {
		var v any
		require.NoError(t, json.Unmarshal([]byte(answer), &v), answer)
		var found []any
		var walk func(v any, path []string)
		walk = func(v any, path []string) {
			switch v := v.(type) {
			case map[string]any:
				if len(path) > 0 {
					walk(v[path[0]], path[1:])
					return
				}
				found = append(found, v["size"])
			case []any:
				for _, e := range v {
					walk(e, path)
				}
			}
		}
		walk(v, path)
		return found
	}
	for _, c := range []struct {
		what, answer string
		path         []string
		want         []any
	}{
		{"the PUT of an empty object", body, nil, []any{0.0}},
		{"the listing of an empty object", listing, []string{"objects"}, []any{0.0}},
		{"a DELETE's marker", marker, nil, []any{nil}},
		{"/versions of a 1-byte object, then its delete marker", versions, []string{"versions"}, []any{1.0, nil}},
	} {
		if diff := cmp.Diff(c.want, sizes(c.answer, c.path...)); diff != "" {
			t.Errorf("%s: \"size\" in %s (-want +got):\n%s", c.what, c.answer, diff)
		}
	}
}
