package balancer

// NextPicker is a hash balancer that can pick for a retry of a keyed
// request by walking on along the ring from the key's own point, past the
// backends the request has tried. ConsistentHash and BoundedLoad have it.
//
// A retry so placed goes where the key would move if the backends tried
// left the ring (for BoundedLoad, as long as the backends on the way are
// below their capacity, which a first pick of the key respects too): to
// the backend that takes the key over when the
// failed one is removed, whose cache a retry then warms, rather than to
// an unrelated point's backend (a rehash of the key with a suffix) or the
// least loaded backend (PickExcept). It is what nginx's "hash ...
// consistent" does: its peer data keeps the request's point on the ring,
// and each try steps on from it past the servers tried, down or at
// max_conns (ngx_http_upstream_get_chash_peer, which gives up after 20
// points and falls back to round robin); and HAProxy's consistent
// hashing, whose lookup starts at the point nearest the key and walks on
// clockwise past the server to avoid (the previous attempt's) and, with
// hash-balance-factor, the servers at their bounded load
// (chash_get_server_hash, lb_chash.c).
//
// Maglev has no NextPicker: a slot walk does not follow the key. When a
// backend leaves, the refilled table hands its slots to the backends
// whose permutations want them next, not to the owner of the next slot;
// the paper keeps a connection on its backend by connection tracking, and
// has no order of retries.
type NextPicker interface {
	// PickNext returns the first backend clockwise from key's point
	// that is up and for which skip returns false (for BoundedLoad, also
	// below its capacity), and counts the pick, as Pick does: one Report
	// must follow. With nothing skipped it is Pick. Unlike nginx's walk
	// it goes on past 20 points, as Pick does, so a retry of a key always
	// lands in one place. An empty key has no point on the ring: it is
	// PickSkipping, the keyless round (see RoundSkipper). The error is
	// ErrNoBackend when no backend is up, not skipped (and below its
	// capacity).
	PickNext(key string, skip func(id string) bool) (string, error)
}

// PickNext is the ring walk of a retry (see NextPicker): O(log points)
// to find the key's place, plus a step per point skipped or down.
func (b *ConsistentHash) PickNext(key string, skip func(id string) bool) (string, error) {
	if key == "" {
		return b.PickSkipping(skip)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ring.Len() == 0 {
		return "", errEmpty
	}
	now := b.pool.Now()
	if b.pool.allDown(now) {
		return "", errAllDown
	}
	start := b.ring.Search(key)
	for k := range b.ring.Len() {
		i, _ := b.pool.Index(b.ring.Node(start + k))
		if b.pool.Up(i, now) && !skip(b.pool.Peers[i].ID) {
			b.pool.Picked(i, now)
			return b.pool.Peers[i].ID, nil
		}
	}
	return "", errAllSkipped
}

// PickNext is the ring walk of a retry with the bound kept: the first
// backend clockwise from key that is up, not skipped and below its
// capacity. The capacity is Pick's, skipped backends being bins like the
// others (their requests count in the load and their weight in the live
// weight, as in PickExcept). When every backend up and not skipped is at
// its capacity there is no pick, as in PickExcept: HAProxy's walk too
// passes over a server whose bounded load is reached.
func (b *BoundedLoad) PickNext(key string, skip func(id string) bool) (string, error) {
	if key == "" {
		return b.PickSkipping(skip)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ring.Len() == 0 {
		return "", errEmpty
	}
	now := b.pool.Now()
	liveWeight := b.pool.UpWeight(now)
	if liveWeight == 0 {
		return "", errAllDown
	}
	load := b.pool.UpInFlight(now) + 1
	start := b.ring.Search(key)
	full := false
	for k := range b.ring.Len() {
		i, _ := b.pool.Index(b.ring.Node(start + k))
		peer := &b.pool.Peers[i]
		if !b.pool.Up(i, now) || skip(peer.ID) {
			continue
		}
		if peer.InFlight >= capacity(b.cMicro, load, peer.Weight, liveWeight) {
			full = true
			continue
		}
		b.pool.Picked(i, now)
		return peer.ID, nil
	}
	if full {
		return "", errAllFull
	}
	return "", errAllSkipped
}
