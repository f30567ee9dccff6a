package client

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A size the metadata server gets wrong is refused when the blob comes
// from the data cache too, as when it comes from a data server
// (TestFetchChecksTheSize): the bytes are the blob's, so the Object
// would promise a size it does not have. Served from the cache, a
// read's Object said Size 30 over 29 bytes.
func TestACachedBlobChecksTheSize(t *testing.T) {
	c, _, _, _ := fixture(t)
	data := []byte("the size is part of the check")
	v := version(data, replica(t, data))
	o, err := c.read(context.Background(), v, 0)
	if assert.NoError(t, err, "a good read, which fills the data cache") {
		o.Close()
	}
	_, cached := c.blobs.get(v.Hash)
	assert.True(t, cached, "the blob is in the data cache")

	v.Replicas = nil // nowhere but the cache
	v.Size++
	o, err = c.read(context.Background(), v, 0)
	assert.Nil(t, o)
	assert.ErrorIs(t, err, errSizeClaim)
	assert.NotErrorIs(t, err, ErrCorrupt)
}
