package client_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// The metadata server's 404 for a delete marker says so in a header
// (meta.DeleteMarkerHeader), and the client's error matches
// meta.ErrDeleted as well as meta.ErrNotFound; a version or key that does
// not exist matches ErrNotFound alone. So does a DELETE's 404: of a key
// whose latest version is a delete marker, it matches both (it was
// ErrNotFound alone, and the tool said "no such object" of a key with
// versions). The API server words its 404s by it: before, only the
// answer's words told a delete marker apart.
func TestADeleteMarkerMatchesErrDeleted(t *testing.T) {
	ctx := context.Background()
	c := newCluster(t, 2, meta.Options{}).client(client.Options{})
	_, err := c.Put(ctx, "k", strings.NewReader("one"))
	require.NoError(t, err)
	_, err = c.Delete(ctx, "k")
	require.NoError(t, err)
	for _, tc := range []struct {
		what    string
		version uint64
		deleted bool
	}{{"latest, deleted", 0, true}, {"version 2, the marker", 2, true}, {"version 9, none", 9, false}} {
		_, err := c.Stat(ctx, "k", tc.version)
		assert.True(t, errors.Is(err, meta.ErrNotFound), "%s: %v", tc.what, err)
		assert.Equal(t, tc.deleted, errors.Is(err, meta.ErrDeleted), "%s: %v", tc.what, err)
	}
	_, err = c.Stat(ctx, "nope", 0)
	assert.True(t, errors.Is(err, meta.ErrNotFound), "no such key: %v", err)
	assert.False(t, errors.Is(err, meta.ErrDeleted), "no such key: %v", err)
	// A delete of a key deleted already adds no marker, and says why.
	_, err = c.Delete(ctx, "k")
	assert.True(t, errors.Is(err, meta.ErrNotFound), "deleting a deleted key: %v", err)
	assert.True(t, errors.Is(err, meta.ErrDeleted), "deleting a deleted key: %v", err)
	_, err = c.Delete(ctx, "nope")
	assert.True(t, errors.Is(err, meta.ErrNotFound), "deleting no such key: %v", err)
	assert.False(t, errors.Is(err, meta.ErrDeleted), "deleting no such key: %v", err)
}
