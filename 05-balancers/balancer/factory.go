package balancer

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrUnknownBalancer is returned by New for a name it does not know.
var ErrUnknownBalancer = errors.New("unknown balancer")

// constructors maps each name New accepts to its balancer.
var constructors = map[string]func(Options) (Balancer, error){
	"random":     func(o Options) (Balancer, error) { return NewRandom(o), nil },
	"roundrobin": func(o Options) (Balancer, error) { return NewRoundRobin(o), nil },
	"swrr":       func(o Options) (Balancer, error) { return NewSmoothWeighted(o), nil },
	"leastconn":  func(o Options) (Balancer, error) { return NewLeastConn(o), nil },
	"p2c":        func(o Options) (Balancer, error) { return NewTwoChoices(o), nil },
	"chash":      func(o Options) (Balancer, error) { return orNil(NewConsistentHash(o)) },
	"bounded":    func(o Options) (Balancer, error) { return orNil(NewBoundedLoad(o)) },
	"maglev":     func(o Options) (Balancer, error) { return orNil(NewMaglev(o)) },
}

// orNil returns b as a Balancer, or a nil Balancer if err is not nil: a
// nil *Maglev in an interface would not compare equal to nil.
func orNil[B Balancer](b B, err error) (Balancer, error) {
	if err != nil {
		return nil, err
	}
	return b, nil
}

// Names returns the names New accepts, sorted.
func Names() []string {
	names := make([]string, 0, len(constructors))
	for name := range constructors {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// New builds the balancer called name (one of Names) with opts: the
// factory that turns a flag or a configuration file into a balancer.
func New(name string, opts Options) (Balancer, error) {
	newBalancer, ok := constructors[name]
	if !ok {
		return nil, fmt.Errorf("%w %q: choose one of %s", ErrUnknownBalancer, name, strings.Join(Names(), ", "))
	}
	if err := opts.checkHealth(name); err != nil {
		return nil, err
	}
	return newBalancer(opts)
}
