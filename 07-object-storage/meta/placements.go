package meta

import (
	"time"

	"github.com/gocourse/gateway/07-object-storage/blob"
)

// placements are the blobs placed for writing within the last GC grace
// period, and when: GC deletes none of them (an upload between its
// placement and its commit is unreferenced). A placement older than the
// grace period protects nothing, so each new one forgets those: if only
// GC forgot them, every GC that failed before it got that far (a
// database error in Prune or MarkGarbage) would leave them, and with
// GC failing the list would grow with every write.
type placements struct {
	at    map[blob.Hash]time.Time // each blob's latest placement
	order []placement             // every placement, the oldest first
}

type placement struct {
	hash blob.Hash
	at   time.Time
}

// add records h placed at now, after forgetting the placements made
// grace or more before now.
func (p *placements) add(h blob.Hash, now time.Time, grace time.Duration) {
	p.expire(now, grace)
	if p.at == nil {
		p.at = map[blob.Hash]time.Time{}
	}
	p.at[h] = now
	p.order = append(p.order, placement{h, now})
}

// expire forgets the placements made grace or more before now. A blob
// placed again since keeps its later placement.
func (p *placements) expire(now time.Time, grace time.Duration) {
	n := 0
	for ; n < len(p.order) && now.Sub(p.order[n].at) >= grace; n++ {
		e := p.order[n]
		if t, ok := p.at[e.hash]; ok && t.Equal(e.at) {
			delete(p.at, e.hash)
		}
	}
	p.order = p.order[n:]
}

// recent reports whether h was placed less than grace before now.
func (p *placements) recent(h blob.Hash, now time.Time, grace time.Duration) bool {
	t, ok := p.at[h]
	return ok && now.Sub(t) < grace
}
