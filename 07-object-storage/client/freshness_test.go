package client_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// An Object and StatFreshUntil say until when their metadata is fresh:
// a TTL after the lookup that brought it started, the same time for
// every answer taken from that cache entry, and a new time once the
// entry has expired and the key is looked up again.
func TestFreshUntilIsTheLookupsExpiry(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{})
	c := cl.client(client.Options{MetaCacheTTL: 5 * time.Second, DataCacheBytes: -1})
	_, err := c.Put(ctx, "k", strings.NewReader("v1"))
	require.NoError(t, err)
	asked := cl.Clock.Now()

	_, until, err := c.StatFreshUntil(ctx, "k", 0)
	require.NoError(t, err)
	assert.Equal(t, asked.Add(5*time.Second), until, "a lookup just made: its start plus the TTL")
	cl.Clock.Add(2 * time.Second)
	assert.Equal(t, asked.Add(5*time.Second), freshUntil(t, c, "k", 0), "from the cache: the entry's expiry")
	_, until, err = c.StatFreshUntil(ctx, "k", 0)
	require.NoError(t, err)
	assert.Equal(t, asked.Add(5*time.Second), until, "Stat from the cache: the entry's expiry")
	assert.Equal(t, cl.Clock.Now().Add(5*time.Second), freshUntil(t, c, "k", 1), "a version by number is a lookup of its own")

	cl.Clock.Add(3 * time.Second) // the latest's entry expires
	assert.Equal(t, cl.Clock.Now().Add(5*time.Second), freshUntil(t, c, "k", 0), "looked up again")
}

// Without a metadata cache every read asks the metadata server: its
// answers are fresh for no time at all.
func TestFreshUntilWithoutACacheIsZero(t *testing.T) {
	cl := newCluster(t, 2, meta.Options{})
	c := cl.client(client.Options{MetaCacheEntries: -1})
	_, err := c.Put(ctx, "k", strings.NewReader("v1"))
	require.NoError(t, err)
	assert.Zero(t, freshUntil(t, c, "k", 0))
	_, until, err := c.StatFreshUntil(ctx, "k", 0)
	require.NoError(t, err)
	assert.Zero(t, until)
}

func freshUntil(t *testing.T, c *client.Client, key string, version uint64) time.Time {
	t.Helper()
	o, err := c.Get(ctx, key, version)
	require.NoError(t, err)
	defer o.Close()
	return o.FreshUntil
}
