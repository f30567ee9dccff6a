package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// A value wider than its column pushes the rest of its line right, never
// cut and never onto the next line: a version past 9999 and a size past
// 9,999,999,999 bytes print whole, and the line is still one version.
func TestAWideValuePushesItsLineRight(t *testing.T) {
	v := meta.Version{Key: "big/a key", Number: 123456, Size: 1 << 40, Hash: blob.Sum([]byte("x")),
		Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))}
	var out bytes.Buffer
	printLine(&out, v)
	assert.Equal(t, "123456  1099511627776  2026-01-02T02:04:05Z  "+v.Hash.Short()+"  big/a key\n", out.String())
}
