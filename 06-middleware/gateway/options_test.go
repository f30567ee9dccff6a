package gateway

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// optionKeys lists the keys of a middleware's options struct as a file
// writes them: a list of mappings as "key: [{a, b}]".
func optionKeys(t reflect.Type) string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct {
			name += ": [{" + optionKeys(f.Type.Elem()) + "}]"
		}
		keys = append(keys, name)
	}
	return strings.Join(keys, ", ")
}

// The chapter lists the options each middleware takes in a file, which
// its annotated configuration shows only some of: this test keeps
// testdata/options.txt, the listing, true of the registry.
func TestTheChaptersListOfMiddlewareOptions(t *testing.T) {
	want, err := os.ReadFile("testdata/options.txt")
	require.NoError(t, err)
	reg := DefaultRegistry()
	var b strings.Builder
	for _, name := range reg.Names() {
		keys := optionKeys(reflect.TypeOf(reg.Options(name)).Elem())
		if keys == "" {
			keys = "(no options)"
		}
		fmt.Fprintf(&b, "%-13s %s\n", name, keys)
	}
	assert.Equal(t, string(want), b.String(), "the listing in testdata/options.txt (and the chapter) no longer matches the registry")
}
