package meta_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/07-object-storage/meta"
)

// A page's limit= is a number from 1 to MaxListLimit, both ends
// included; empty means the server's maximum (0). The API server passes
// it on, so the two read it alike.
func TestALimitIsANumberFromOneToMaxListLimit(t *testing.T) {
	for l, want := range map[string]int{"": 0, "1": 1, "1000": meta.MaxListLimit} {
		got, err := meta.ParseLimit(l)
		if assert.NoError(t, err, "limit=%q", l) {
			assert.Equal(t, want, got, "limit=%q", l)
		}
	}
	for _, bad := range []string{"0", "1001", "-1", "x", "1.5"} {
		_, err := meta.ParseLimit(bad)
		assert.ErrorContains(t, err, "is not a number from 1 to 1000", "limit=%q", bad)
	}
}
