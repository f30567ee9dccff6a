package balancer

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/gocourse/gateway/05-balancers/ring"
)

// Options configure a balancer. The zero value is ready to use: each
// field's zero picks the default documented beside it.
type Options struct {
	// Health is passive health tracking: the failures Report is told of
	// take a backend out for a while.
	Health Health

	// Now is the clock health tracking reads; nil means time.Now. Tests
	// pass a fake one to step past FailTimeout without waiting.
	Now func() time.Time
	// Rand is the random source of Random and TwoChoices; nil means one
	// seeded from the runtime's random generator. It is only used with the
	// balancer's lock held, so it need not be safe for concurrent use.
	Rand rand.Source

	// Replicas is the number of virtual nodes per unit of weight on
	// ConsistentHash and BoundedLoad rings; 0 means ring.DefaultReplicas.
	// It must be at most MaxReplicas.
	Replicas int
	// Hash hashes keys (and backend ids, to place them) for the hash
	// balancers; nil means ring.FNV.
	Hash ring.Hash
	// LoadFactor is BoundedLoad's c: no backend takes more than
	// ceil(c * average) in-flight requests. 0 means DefaultLoadFactor; it
	// must be from 1 to MaxLoadFactor.
	LoadFactor float64
	// TableSize is Maglev's lookup table size, a prime well above the
	// number of backends and at most MaxTableSize; 0 means
	// DefaultTableSize.
	TableSize int
}

// Health configures passive health tracking, with nginx's meaning of
// max_fails and fail_timeout.
type Health struct {
	// MaxFails failures within FailTimeout mark a backend down. 0 means 1,
	// nginx's default; a negative value turns health tracking off.
	MaxFails int
	// FailTimeout is both the window in which failures are counted and how
	// long a backend is then skipped. 0 means 10s, nginx's default. It must
	// not be negative: a backend would be back before it failed, so
	// tracking would be off without a word (MaxFails says that out loud).
	FailTimeout time.Duration
}

const (
	// DefaultLoadFactor is the c of "Consistent Hashing with Bounded
	// Loads": a backend may take 25% more than the average load.
	DefaultLoadFactor = 1.25
	// DefaultTableSize is the table size the Maglev paper uses, 65537.
	DefaultTableSize = 65537

	// MaxReplicas bounds Options.Replicas: a backend of weight MaxWeight
	// then has 256,000 points on the ring (6 MB), already far more than
	// an even spread needs.
	MaxReplicas = 1000
	// MaxTableSize bounds Options.TableSize: 2^22 slots (16 MiB, 64 times
	// the default), the largest prime below it being 4,194,301. The table
	// is allocated and filled on the first pick, with the lock held: a
	// size such as 1,000,000,007 (a prime) would take 4 GB there.
	MaxTableSize = 1 << 22
)

// ErrBadOption is returned, wrapped, by the constructors (and New) for
// an option out of its range: Replicas, LoadFactor, TableSize or a
// negative Health.FailTimeout.
var ErrBadOption = errors.New("bad balancer option")

// badOption returns an error that matches ErrBadOption with its own
// message.
func badOption(format string, args ...any) error {
	return errorWrap{ErrBadOption, fmt.Sprintf(format, args...)}
}

// checkReplicas checks o.Replicas, before defaults are applied.
func (o Options) checkReplicas(balancer string) error {
	if o.Replicas < 0 || o.Replicas > MaxReplicas {
		return badOption("%s: replicas must be from 1 to %d (0 for the default, %d), got %d", balancer, MaxReplicas, ring.DefaultReplicas, o.Replicas)
	}
	return nil
}

// checkHealth checks o.Health: a negative FailTimeout is refused, not
// read as "off", which is a negative MaxFails's job.
func (o Options) checkHealth(balancer string) error {
	if o.Health.FailTimeout < 0 {
		return badOption("%s: the fail timeout must not be negative (0 for the default, 10s; a negative MaxFails turns health tracking off), got %v", balancer, o.Health.FailTimeout)
	}
	return nil
}

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	if o.Health.MaxFails == 0 {
		o.Health.MaxFails = 1
	}
	if o.Health.FailTimeout == 0 {
		o.Health.FailTimeout = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.NewPCG(rand.Uint64(), rand.Uint64())
	}
	if o.Replicas == 0 {
		o.Replicas = ring.DefaultReplicas
	}
	if o.Hash == nil {
		o.Hash = ring.FNV
	}
	if o.LoadFactor == 0 {
		o.LoadFactor = DefaultLoadFactor
	}
	if o.TableSize == 0 {
		o.TableSize = DefaultTableSize
	}
	return o
}
