package balancer

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gocourse/gateway/05-balancers/ring"
)

// Maglev is the consistent hashing of Google's Maglev load balancer
// (Eisenbud et al., NSDI 2016). Instead of a ring searched in O(log n), it
// fills a lookup table of M slots, M prime, so that a pick is one hash and
// one array read: O(1) whatever the number of backends.
//
// Each backend has its own permutation of the slots, (offset + j*skip) mod
// M with offset and skip derived from its id; since M is prime, every
// permutation visits every slot. Backends take turns claiming their next
// preferred free slot until the table is full, so each gets about M/n
// slots, or M*w/W with weights: turns are interleaved in proportion to
// the weights (see fill). When a backend is added or removed, most slots
// keep their owner: keys move little, though a bit more than on a ring.
//
// Failover: a key whose backend is down goes to the owner of the next
// slot that is live. Slots are interleaved pseudo-randomly, so a down
// backend's keys spread over all the others, and nobody else's move.
type Maglev struct {
	locked
	hash  ring.Hash
	size  int
	table []int32 // slot -> position in pool.Peers
	dirty bool    // the backends changed since table was filled
}

// NewMaglev returns an empty Maglev balancer. It fails if
// opts.TableSize is not a prime or is above MaxTableSize, or
// opts.Health.FailTimeout is negative.
func NewMaglev(opts Options) (*Maglev, error) {
	if err := opts.checkHealth("maglev"); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	if opts.TableSize > MaxTableSize || !isPrime(opts.TableSize) {
		return nil, badOption("maglev: the table size must be a prime no larger than %d (such as %d), got %d", MaxTableSize, DefaultTableSize, opts.TableSize)
	}
	return &Maglev{locked: newLocked(opts), hash: opts.Hash, size: opts.TableSize}, nil
}

// ErrTableFull is returned by Maglev's Add when the table has as many
// backends as slots: each backend must own at least one slot.
var ErrTableFull = errors.New("maglev table full")

// Add adds a backend; the table is refilled on the next Pick, so that
// adding n backends costs one fill, not n. An Add refused changes
// nothing, and costs none.
func (b *Maglev) Add(id string, weight int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pool.Peers) >= b.size {
		return errorWrap{ErrTableFull, fmt.Sprintf("maglev: a table of %d slots cannot hold more backends; use a larger prime table size", b.size)}
	}
	if err := b.pool.Add(id, weight); err != nil {
		return err
	}
	b.dirty = true
	return nil
}

// Remove removes a backend; the table is refilled on the next Pick.
func (b *Maglev) Remove(id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.pool.Remove(id); err != nil {
		return err
	}
	b.dirty = true
	return nil
}

// Pick returns the owner of key's slot, or of the next slot whose owner
// is live (for an empty key, see unkeyed). When every backend is down it says so at once rather than
// walk the whole table, holding the lock (see ConsistentHash.Pick).
func (b *Maglev) Pick(key string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pool.Peers) == 0 {
		return "", errEmpty
	}
	now := b.pool.Now()
	if b.pool.allDown(now) {
		return "", errAllDown
	}
	if key == "" {
		return unkeyed(b.pool, now, nil)
	}
	if b.dirty {
		b.fill()
	}
	slot := int(b.hash(key) % uint64(b.size))
	for range b.size {
		if i := int(b.table[slot]); b.pool.Up(i, now) {
			b.pool.Picked(i, now)
			return b.pool.Peers[i].ID, nil
		}
		if slot++; slot == b.size {
			slot = 0
		}
	}
	return "", errAllDown
}

// fill is the paper's population procedure (its Pseudocode 1), with
// weighted turns. The paper only says that weights adjust how often each
// backend takes a turn; here backend r's k-th turn comes at pass k/w_r,
// the turns taken in order of pass (compared exactly, in integers), ties
// by rank: stride scheduling. With equal weights that is the paper's
// round of one turn each, in order. Any stretch of turns is close to
// proportional to the weights, so shares follow the weights even when
// the table fills within the first round (weights that add up to more
// than M), and scaling every weight by the same factor changes nothing.
//
// The paper iterates over the backends in a fixed order; here that order
// (a backend's rank) is its id's, not its position in the pool, which
// depends on the order of adds and removes. So the table is a function
// of the backends and their weights only: two gateways, or one before and
// after a reload, send a key to the same backend.
func (b *Maglev) fill() {
	peers := b.pool.Peers
	m := uint64(b.size)
	byID := make([]int, len(peers)) // rank -> position in peers
	for i := range byID {
		byID[i] = i
	}
	slices.SortFunc(byID, func(i, j int) int { return strings.Compare(peers[i].ID, peers[j].ID) })
	offset := make([]uint64, len(peers))
	skip := make([]uint64, len(peers))
	next := make([]uint64, len(peers)) // how far each has gone through its permutation
	weight := make([]int, len(peers))
	for r, i := range byID {
		offset[r] = b.hash(peers[i].ID) % m
		skip[r] = b.hash("skip:"+peers[i].ID)%(m-1) + 1
		weight[r] = peers[i].Weight
	}
	if len(b.table) != b.size {
		b.table = make([]int32, b.size)
	}
	for s := range b.table {
		b.table[s] = -1
	}
	turns := newTurnOrder(weight)
	for filled := 0; filled < b.size; filled++ {
		r := turns.next()
		slot := (offset[r] + next[r]*skip[r]) % m
		for b.table[slot] >= 0 {
			next[r]++
			slot = (offset[r] + next[r]*skip[r]) % m
		}
		b.table[slot] = int32(byID[r])
		next[r]++
	}
	b.dirty = false
}

// turnOrder hands out turns in stride order: peer r's k-th turn (from 0)
// comes at pass k/weight_r, the earliest pass first, the lower rank on a
// tie. It is a binary heap of ranks: O(log n) a turn.
type turnOrder struct {
	heap   []int // ranks; heap[0]'s turn is next
	turns  []int // turns taken by each peer
	weight []int
}

// newTurnOrder starts every peer at pass 0: ranks in ascending order are
// already a heap.
func newTurnOrder(weight []int) *turnOrder {
	t := &turnOrder{heap: make([]int, len(weight)), turns: make([]int, len(weight)), weight: weight}
	for r := range t.heap {
		t.heap[r] = r
	}
	return t
}

// next returns the peer whose turn it is, and moves it to its next pass,
// down the heap.
func (t *turnOrder) next() int {
	i := t.heap[0]
	t.turns[i]++
	for at := 0; ; {
		child := 2*at + 1
		if child >= len(t.heap) {
			break
		}
		if right := child + 1; right < len(t.heap) && t.before(t.heap[right], t.heap[child]) {
			child = right
		}
		if !t.before(t.heap[child], i) {
			break
		}
		t.heap[at] = t.heap[child]
		at = child
		t.heap[at] = i
	}
	return i
}

// before reports whether peer i's next turn comes before peer j's: it
// compares the passes turns/weight exactly, by cross multiplication.
func (t *turnOrder) before(i, j int) bool {
	pi, pj := t.turns[i]*t.weight[j], t.turns[j]*t.weight[i]
	return pi < pj || pi == pj && i < j
}

// isPrime reports whether n is a prime, by trial division: table sizes are
// small enough.
func isPrime(n int) bool {
	if n < 2 {
		return false
	}
	for d := 2; d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}
