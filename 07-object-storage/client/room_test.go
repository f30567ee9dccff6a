package client_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/dataserver"
	"github.com/gocourse/gateway/07-object-storage/meta"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

// byID places every blob on the data servers in the order of their IDs,
// so that a test knows where the ring would have put it.
type byID struct{}

func (byID) Place(_ string, servers []string) []string {
	return slices.Sorted(slices.Values(servers))
}

// sortedByID returns cl's data servers in the order of their IDs.
func sortedByID(cl cluster) []*storetest.DataNode {
	nodes := slices.Clone(cl.Data)
	slices.SortFunc(nodes, func(a, b *storetest.DataNode) int { return strings.Compare(a.Store.ID(), b.Store.ID()) })
	return nodes
}

// Once their heartbeats say two servers are full, a write goes to the
// two with room, and the full ones are not even sent the blob (the
// placement lists them last), by Put and by PutStream alike.
func TestAWriteGoesToServersWithRoom(t *testing.T) {
	cl := newClusterWith(t, 4, meta.Options{Placer: byID{}}, dataserver.Options{Capacity: 100})
	c := cl.client(client.Options{})
	nodes := sortedByID(cl)
	first := strings.Repeat("1", 80)
	v, err := c.Put(ctx, "first", strings.NewReader(first))
	require.NoError(t, err)
	require.True(t, nodes[0].Has(v.Hash) && nodes[1].Has(v.Hash), "placed by ID")
	cl.Beat() // 20 bytes free on nodes 0 and 1

	for _, put := range []struct {
		name string
		put  func(key, content string) (meta.Version, error)
	}{
		{"Put", func(key, content string) (meta.Version, error) { return c.Put(ctx, key, strings.NewReader(content)) }},
		{"PutStream", func(key, content string) (meta.Version, error) {
			return c.PutStream(ctx, key, strings.NewReader(content), int64(len(content)), blob.Sum([]byte(content)), client.PutOptions{})
		}},
	} {
		t.Run(put.name, func(t *testing.T) {
			puts := []int32{nodes[0].Puts.Load(), nodes[1].Puts.Load()}
			content := strings.Repeat(put.name, 10)[:30]
			v, err := put.put(put.name, content)
			require.NoError(t, err)
			assert.True(t, nodes[2].Has(v.Hash) && nodes[3].Has(v.Hash), "stored on the two with room")
			assert.Equal(t, puts, []int32{nodes[0].Puts.Load(), nodes[1].Puts.Load()}, "uploads sent to the full servers")
			require.NoError(t, nodes[2].Store.Remove(v.Hash)) // room again for the next
			require.NoError(t, nodes[3].Store.Remove(v.Hash))
		})
	}
}

// With too few servers that have room, a write fails with
// meta.ErrNoRoom (and meta.ErrTooFewReplicas), and is not committed.
func TestAWriteWithNoRoomFailsWithErrNoRoom(t *testing.T) {
	cl := newClusterWith(t, 3, meta.Options{Placer: byID{}}, dataserver.Options{Capacity: 100})
	c := cl.client(client.Options{})
	_, err := c.Put(ctx, "first", strings.NewReader(strings.Repeat("1", 80)))
	require.NoError(t, err)
	// No heartbeat since: the metadata server still thinks there is room
	// everywhere, and the data servers' own 507s say there is not.
	big := bytes.Repeat([]byte("2"), 80)
	for name, put := range map[string]func() error{
		"Put": func() error { _, err := c.Put(ctx, "second", bytes.NewReader(big)); return err },
		"PutStream": func() error {
			_, err := c.PutStream(ctx, "second", bytes.NewReader(big), int64(len(big)), blob.Sum(big), client.PutOptions{})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := put()
			assert.ErrorIs(t, err, meta.ErrNoRoom)
			assert.ErrorIs(t, err, meta.ErrTooFewReplicas)
			_, err = c.Stat(ctx, "second", 0)
			assert.ErrorIs(t, err, meta.ErrNotFound, "committed")
		})
	}
}

// A write is blamed on room only when every upload that failed was
// refused for it: with one server down and another full, which failed
// last is only the order of the placement, and the answer must not
// depend on it (507 one way round, 503 the other). A server down is a
// cause too: the write fails with meta.ErrTooFewReplicas, not
// meta.ErrNoRoom, whichever of the two the placement lists first.
func TestAWriteShortForRoomAndADownServerIsNotErrNoRoom(t *testing.T) {
	for _, down := range []int{0, 1} {
		full := 1 - down
		t.Run(fmt.Sprintf("server %d down, %d full", down, full), func(t *testing.T) {
			// R = W = 2; PutStream streams (a body over MemoryLimit).
			cl := newClusterWith(t, 3, meta.Options{Placer: byID{}}, dataserver.Options{Capacity: 100})
			c := cl.client(client.Options{MemoryLimit: 10})
			nodes := sortedByID(cl)
			filler := strings.Repeat("f", 90)
			_, err := nodes[full].Store.Put(blob.Sum([]byte(filler)), strings.NewReader(filler)) // no heartbeat since
			require.NoError(t, err)
			nodes[down].HTTP.Close() // no heartbeat missed yet: still live
			data := bytes.Repeat([]byte("d"), 80)
			for _, put := range []struct {
				name string
				put  func() error
			}{
				{"Put", func() error { _, err := c.Put(ctx, "k", bytes.NewReader(data)); return err }},
				{"PutStream", func() error {
					_, err := c.PutStream(ctx, "k", bytes.NewReader(data), int64(len(data)), blob.Sum(data), client.PutOptions{})
					return err
				}},
			} {
				t.Run(put.name, func(t *testing.T) {
					err := put.put()
					assert.ErrorIs(t, err, meta.ErrTooFewReplicas)
					assert.NotErrorIs(t, err, meta.ErrNoRoom)
					nodes[2].Store.Remove(blob.Sum(data)) // Put's copy, if any
				})
			}
		})
	}
}
