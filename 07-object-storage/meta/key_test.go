package meta_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/07-object-storage/meta"
)

func TestValidateKey(t *testing.T) {
	for _, good := range []string{"a", "photos/2024/cat.jpg", "a..b", "...", ".hidden", "日本語/ключ", strings.Repeat("k", meta.MaxKeyLen)} {
		assert.NoError(t, meta.ValidateKey(good), "%q", good)
	}
	for name, bad := range map[string]string{
		"empty":         "",
		"too long":      strings.Repeat("k", meta.MaxKeyLen+1),
		"invalid UTF-8": "caf\xe9",
		"NUL":           "a\x00b",
		"leading NUL":   "\x00a",
		"newline":       "a\nb",
		"DEL":           "a\x7fb",
		"C1 control":    "a\u0085b",
		"dot-dot":       "a/../b",
		"leading ..":    "../etc/passwd",
		"trailing ..":   "a/..",
		"dot":           "a/./b",
	} {
		t.Run(name, func(t *testing.T) {
			assert.ErrorIs(t, meta.ValidateKey(bad), meta.ErrBadKey)
		})
	}
}
