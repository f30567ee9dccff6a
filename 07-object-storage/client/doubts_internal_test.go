package client

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

// A doubted copy goes last, the others keep their order, and a copy of
// another blob at the same address is not doubted; after doubtFor the
// copy is tried in its place again; at most maxDoubts copies are
// remembered, the oldest forgotten first.
func TestDoubtedCopiesAreTriedLastForAWhile(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := newDoubts(func() time.Time { return now })
	h, other := blob.Hash("aa"), blob.Hash("bb")
	addrs := []string{"http://a", "http://b", "http://c"}

	d.add(h, "http://a")
	if diff := cmp.Diff([]string{"http://b", "http://c", "http://a"}, d.last(h, addrs)); diff != "" {
		t.Errorf("doubted copy not last (-want +got):\n%s", diff)
	}
	assert.Equal(t, addrs, d.last(other, addrs), "another blob's copy at the address")
	assert.Equal(t, []string{"http://a", "http://b", "http://c"}, addrs, "last changed its argument")

	now = now.Add(doubtFor - time.Second)
	assert.Equal(t, "http://a", d.last(h, addrs)[2], "forgotten before doubtFor")
	now = now.Add(time.Second)
	assert.Equal(t, addrs, d.last(h, addrs), "still doubted after doubtFor")

	d.add(h, "http://b")
	for i := range maxDoubts {
		d.add(blob.Hash(fmt.Sprint(i)), "http://a")
	}
	assert.Equal(t, addrs, d.last(h, addrs), "the oldest doubt kept past maxDoubts")
	assert.Equal(t, maxDoubts, d.set.Len())
}
