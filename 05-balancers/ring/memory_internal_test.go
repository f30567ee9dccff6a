package ring

import (
	"strconv"
	"testing"
	"unsafe"
)

// TestAPointIs24Bytes pins the chapter's figure for a ring's memory, on a
// 64-bit platform: 24 bytes per virtual node (a uint64 hash and a string
// header).
func TestAPointIs24Bytes(t *testing.T) {
	if strconv.IntSize != 64 {
		t.Skip("the chapter's figure is that of a 64-bit platform")
	}
	if got := unsafe.Sizeof(point{}); got != 24 {
		t.Errorf("a point is %d bytes, the chapter says 24", got)
	}
}
