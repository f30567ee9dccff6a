package balancer

import (
	"strconv"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// TestTheChaptersMemoryFigures pins the sizes the chapter's table of
// balancers quotes, on a 64-bit platform: a 104-byte Peer per backend, 4
// bytes per pick of a recorded smooth weighted period (so a period of
// maxPeriod picks is 4 MiB) and 4 bytes per Maglev slot.
func TestTheChaptersMemoryFigures(t *testing.T) {
	if strconv.IntSize != 64 {
		t.Skip("the chapter's figures are those of a 64-bit platform")
	}
	var pd period
	var m Maglev
	assert.EqualValues(t, 104, int(unsafe.Sizeof(Peer{})), "bytes in a Peer")
	assert.EqualValues(t, 4, int(unsafe.Sizeof(pd.picks[0])), "bytes per recorded pick")
	assert.EqualValues(t, 4<<20, maxPeriod*int(unsafe.Sizeof(pd.picks[0])), "bytes in the longest period")
	assert.EqualValues(t, 4, int(unsafe.Sizeof(m.table[0])), "bytes per Maglev slot")
}
