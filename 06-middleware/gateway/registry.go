package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/gocourse/gateway/05-balancers/balancer"
	"github.com/gocourse/gateway/06-middleware/config"
	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/06-middleware/onion"
)

// Env is what the middleware of one route are built with: things the
// whole gateway shares (the logger, the metrics), and the route's name.
type Env struct {
	Logger  *slog.Logger
	Metrics *middleware.Metrics
	Now     func() time.Time
	Route   string
}

// Registry maps the middleware names a configuration file may use to
// their options and constructors. It implements config.Registry, so that
// a file naming an unknown middleware, or giving one an unknown option,
// is rejected when it is loaded, not when a request arrives.
type Registry struct {
	entries map[string]entry
}

type entry struct {
	options func() any // a pointer to a new options struct, with defaults
	build   func(opts any, env Env) (onion.Middleware, error)
}

// Register adds middleware name to r: defaults are its options before the
// file's keys are decoded into a copy, build makes the middleware from
// them. Adding a middleware to the gateway is one call of Register.
func Register[O any](r *Registry, name string, defaults O, build func(opts *O, env Env) (onion.Middleware, error)) {
	if r.entries == nil {
		r.entries = map[string]entry{}
	}
	r.entries[name] = entry{
		options: func() any { o := defaults; return &o },
		build:   func(opts any, env Env) (onion.Middleware, error) { return build(opts.(*O), env) },
	}
}

// Names returns the registered names, sorted.
func (r *Registry) Names() []string { return slices.Sorted(maps.Keys(r.entries)) }

// Options returns new options for name, or nil if it is not registered.
func (r *Registry) Options(name string) any {
	e, ok := r.entries[name]
	if !ok {
		return nil
	}
	return e.options()
}

// Build makes the middleware m names, from the options the file gave.
func (r *Registry) Build(m config.Middleware, env Env) (onion.Middleware, error) {
	e, ok := r.entries[m.Name]
	if !ok {
		return nil, fmt.Errorf("unknown middleware %q", m.Name)
	}
	return e.build(m.Options, env)
}

// DefaultRegistry registers every middleware
// of package middleware, under the names middleware.Default uses.
func DefaultRegistry() *Registry {
	r := &Registry{}
	Register(r, "recover", none{}, func(_ *none, env Env) (onion.Middleware, error) {
		return middleware.Recover(env.Logger), nil
	})
	Register(r, "request-id", none{}, func(*none, Env) (onion.Middleware, error) {
		return middleware.RequestID(nil), nil
	})
	Register(r, "access-log", none{}, func(_ *none, env Env) (onion.Middleware, error) {
		return middleware.AccessLog(env.Logger), nil
	})
	Register(r, "metrics", none{}, func(_ *none, env Env) (onion.Middleware, error) {
		return env.Metrics.Wrap, nil
	})
	Register(r, "cors", CORSOptions{}, func(o *CORSOptions, _ Env) (onion.Middleware, error) {
		return middleware.CORS(middleware.CORSConfig(*o)), nil
	})
	Register(r, "rate-limit", RateLimitOptions{
		Key: "ip", MaxClients: middleware.DefaultRateLimitClients, Idle: middleware.DefaultRateLimitIdle,
	}, func(o *RateLimitOptions, env Env) (onion.Middleware, error) {
		key, err := rateLimitKey(o.Key)
		if err != nil {
			return nil, err
		}
		return middleware.NewRateLimiter(middleware.RateLimit{
			Rate: rate.Limit(o.Rate), Burst: o.Burst, MaxClients: o.MaxClients, Idle: o.Idle,
			Key: key, Now: env.Now,
		}).Wrap, nil
	})
	Register(r, "body-limit", BodyLimitOptions{}, func(o *BodyLimitOptions, _ Env) (onion.Middleware, error) {
		return middleware.MaxBody(o.MaxBytes), nil
	})
	Register(r, "auth", AuthOptions{MaxSkew: middleware.DefaultMaxSkew}, func(o *AuthOptions, env Env) (onion.Middleware, error) {
		a, err := middleware.NewAuth(middleware.AuthConfig{
			APIKeys: toCredentials(o.APIKeys), HMAC: toCredentials(o.HMAC), MaxSkew: o.MaxSkew, Now: env.Now,
		})
		if err != nil {
			return nil, err
		}
		return a.Wrap, nil
	})
	Register(r, "timeout", TimeoutOptions{}, func(o *TimeoutOptions, _ Env) (onion.Middleware, error) {
		return middleware.Timeout(o.After), nil
	})
	Register(r, "body-timeout", BodyTimeoutOptions{After: middleware.DefaultBodyTimeout}, func(o *BodyTimeoutOptions, _ Env) (onion.Middleware, error) {
		return middleware.BodyTimeout(o.After), nil
	})
	Register(r, "cache", CacheOptions{MaxBytes: middleware.DefaultCacheBytes, MaxEntryBytes: middleware.DefaultCacheEntryBytes}, func(o *CacheOptions, env Env) (onion.Middleware, error) {
		return middleware.NewCache(middleware.CacheConfig{MaxBytes: o.MaxBytes, MaxEntryBytes: o.MaxEntryBytes, Now: env.Now}).Wrap, nil
	})
	Register(r, "breaker", BreakerOptions{
		Failures: middleware.DefaultBreakerFailures, Cooldown: middleware.DefaultBreakerCooldown,
	}, func(o *BreakerOptions, env Env) (onion.Middleware, error) {
		bs := middleware.NewBreakers(middleware.BreakerConfig{Failures: o.Failures, Cooldown: o.Cooldown, Now: env.Now})
		bs.Key = func(*http.Request) string { return env.Route } // one circuit per route, whatever the layers above it
		return bs.Wrap, nil
	})
	return r
}

// none is the options of a middleware that takes none: any key is an
// unknown key.
type none struct{}

// CORSOptions are the options of cors, as middleware.CORSConfig.
type CORSOptions struct {
	Origins []string      `yaml:"origins"`
	Methods []string      `yaml:"methods"`
	Headers []string      `yaml:"headers"`
	Expose  []string      `yaml:"expose"`
	MaxAge  time.Duration `yaml:"max_age"`

	Credentials bool `yaml:"credentials"`
}

// Check reports options cors cannot use, all of them (errors.Join).
func (o *CORSOptions) Check() error {
	var errs []error
	if len(o.Origins) == 0 {
		errs = append(errs, errors.New("origins: list at least one origin, or \"*\""))
	} else if o.Credentials && !slices.ContainsFunc(o.Origins, func(s string) bool { return s != "*" }) {
		errs = append(errs, errors.New(`credentials: grants nothing to origins allowed by "*" alone: name the origins that may send credentials`))
	}
	if o.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("max_age: negative duration %v", o.MaxAge))
	}
	return errors.Join(errs...)
}

// RateLimitOptions are the options of rate-limit: each client (by Key, as
// a balancer's key: ip, header:NAME, ...; but ip keys an IPv6 address by
// its /64) may send Rate requests a second, Burst at once.
type RateLimitOptions struct {
	Rate       float64       `yaml:"rate"`
	Burst      int           `yaml:"burst"`
	Key        string        `yaml:"key"`
	MaxClients int           `yaml:"max_clients"`
	Idle       time.Duration `yaml:"idle"`
}

// Check reports options rate-limit cannot use, all of them (errors.Join):
// a file with rate: 0 and burst: 0 shows both at once.
func (o *RateLimitOptions) Check() error {
	var errs []error
	if o.Rate <= 0 {
		errs = append(errs, fmt.Errorf("rate: want requests per second above 0, got %v", o.Rate))
	}
	switch {
	case o.Burst == 0: // also what a file without burst gives
		errs = append(errs, errors.New("burst: want 1 or more (it has no default: the most requests a client may make at once)"))
	case o.Burst < 0:
		errs = append(errs, fmt.Errorf("burst: want 1 or more, got %d", o.Burst))
	}
	// A table of no clients would forget each at once, and limit none;
	// an idle of 0 could mean "never forget" as well as "at once".
	if o.MaxClients <= 0 {
		errs = append(errs, zeroNumber("max_clients", o.MaxClients, middleware.DefaultRateLimitClients))
	}
	if o.Idle <= 0 {
		errs = append(errs, zeroDuration("idle", o.Idle, middleware.DefaultRateLimitIdle))
	}
	if _, err := rateLimitKey(o.Key); err != nil {
		// Named, as every error here: config reports one that names no
		// key only when nothing failed to decode (see config.Registry).
		errs = append(errs, fmt.Errorf("key: %w", err))
	}
	return errors.Join(errs...)
}

// rateLimitKey is the balancers' key of spec (balancer.ParseKey), except
// "ip", which is middleware.ClientIP: an IPv6 client by its /64, as one
// host commonly has all of it. The balancers' "ip" is the full address,
// right for spreading requests but a fresh bucket for every address a
// client picks from its /64.
func rateLimitKey(spec string) (func(*http.Request) string, error) {
	if spec == "ip" {
		return middleware.ClientIP, nil
	}
	return balancer.ParseKey(spec)
}

// BodyLimitOptions are the options of body-limit.
type BodyLimitOptions struct {
	MaxBytes int64 `yaml:"max_bytes"`
}

// Check reports options body-limit cannot use.
func (o *BodyLimitOptions) Check() error {
	if o.MaxBytes <= 0 {
		return fmt.Errorf("max_bytes: want a size above 0, got %d", o.MaxBytes)
	}
	return nil
}

// CacheOptions are the options of cache: how many bytes it may hold, all
// entries together and one answer's body.
type CacheOptions struct {
	MaxBytes      int64 `yaml:"max_bytes"`
	MaxEntryBytes int64 `yaml:"max_entry_bytes"`
}

// Check reports options cache cannot use, all of them (errors.Join).
func (o *CacheOptions) Check() error {
	var errs []error
	if o.MaxBytes <= 0 {
		errs = append(errs, zeroSize("max_bytes", o.MaxBytes, middleware.DefaultCacheBytes))
	}
	if o.MaxEntryBytes <= 0 {
		errs = append(errs, zeroSize("max_entry_bytes", o.MaxEntryBytes, middleware.DefaultCacheEntryBytes))
	} else if o.MaxBytes > 0 && o.MaxEntryBytes > o.MaxBytes {
		errs = append(errs, fmt.Errorf("max_entry_bytes: %d is more than the whole cache may hold (max_bytes: %d)", o.MaxEntryBytes, o.MaxBytes))
	}
	return errors.Join(errs...)
}

// AuthOptions are the options of auth: the clients that may call the
// route, by API key (X-Api-Key) or HMAC signature.
type AuthOptions struct {
	APIKeys []KeyOptions  `yaml:"api_keys"`
	HMAC    []KeyOptions  `yaml:"hmac"`
	MaxSkew time.Duration `yaml:"max_skew"`
}

// KeyOptions are one client's credential.
type KeyOptions struct {
	ID    string   `yaml:"id"`
	Key   string   `yaml:"key"`
	Allow []string `yaml:"allow"` // path prefixes; none means all
}

func (k KeyOptions) credential() middleware.Credential {
	return middleware.Credential{ID: k.ID, Secret: middleware.Secret(k.Key), Allow: k.Allow}
}

// Check reports options auth cannot use, all of them (errors.Join).
func (o *AuthOptions) Check() error {
	var errs []error
	if len(o.APIKeys)+len(o.HMAC) == 0 {
		errs = append(errs, errors.New("no credentials: give api_keys or hmac"))
	}
	// Each list on its own, named: NewAuth stops at its first bad
	// credential, and config drops an error that names no key when
	// another key failed to decode (see config.Registry).
	if _, err := middleware.NewAuth(middleware.AuthConfig{APIKeys: toCredentials(o.APIKeys)}); err != nil {
		errs = append(errs, fmt.Errorf("api_keys: %w", unprefixed{err}))
	}
	if _, err := middleware.NewAuth(middleware.AuthConfig{HMAC: toCredentials(o.HMAC)}); err != nil {
		errs = append(errs, fmt.Errorf("hmac: %w", unprefixed{err}))
	}
	// Not "an exact clock": a timestamp is in whole seconds, so at 0
	// no signed request would pass, and under 1s many would not: one
	// signed at 12:00:00.9 carries 12:00:00 and arrives 0.9s "late"
	// (at 500ms, every request signed in the second half of a second).
	// NewAuth takes any positive skew; a file is refused one that fails
	// requests for no fault of the client.
	switch {
	case o.MaxSkew <= 0:
		errs = append(errs, zeroDuration("max_skew", o.MaxSkew, middleware.DefaultMaxSkew))
	case o.MaxSkew < time.Second:
		errs = append(errs, fmt.Errorf("max_skew: want 1s or more, got %v: a signed request's timestamp is in whole seconds, so one signed more than %v into its second would be refused", o.MaxSkew, o.MaxSkew))
	}
	return errors.Join(errs...)
}

// unprefixed is an error of NewAuth without the "auth: " it starts with:
// the file's error names the middleware already, and would otherwise say
// "auth: api_keys: auth: API key ...". errors.Is still sees the error.
type unprefixed struct{ error }

func (u unprefixed) Error() string { return strings.TrimPrefix(u.error.Error(), "auth: ") }
func (u unprefixed) Unwrap() error { return u.error }

func toCredentials(ks []KeyOptions) []middleware.Credential {
	out := make([]middleware.Credential, len(ks))
	for i, k := range ks {
		out[i] = k.credential()
	}
	return out
}

// TimeoutOptions are the options of timeout.
type TimeoutOptions struct {
	After time.Duration `yaml:"after"`
}

// Check reports options timeout cannot use.
func (o *TimeoutOptions) Check() error {
	if o.After <= 0 {
		return fmt.Errorf("after: want a duration above 0, such as 5s")
	}
	return nil
}

// BodyTimeoutOptions are the options of body-timeout: the longest pause
// between two reads of a request body.
type BodyTimeoutOptions struct {
	After time.Duration `yaml:"after"`
}

// Check reports options body-timeout cannot use.
func (o *BodyTimeoutOptions) Check() error {
	if o.After <= 0 { // 0 is off to middleware.BodyTimeout, never what a file means
		return zeroDuration("after", o.After, middleware.DefaultBodyTimeout)
	}
	return nil
}

// BreakerOptions are the options of breaker.
type BreakerOptions struct {
	Failures int           `yaml:"failures"`
	Cooldown time.Duration `yaml:"cooldown"`
}

// Check reports options breaker cannot use, all of them (errors.Join).
// Neither 0 means anything a breaker could do: no failures cannot open a
// circuit, and no cooldown lets a trial through at once.
func (o *BreakerOptions) Check() error {
	var errs []error
	if o.Failures <= 0 {
		errs = append(errs, zeroNumber("failures", o.Failures, middleware.DefaultBreakerFailures))
	}
	if o.Cooldown <= 0 {
		errs = append(errs, zeroDuration("cooldown", o.Cooldown, middleware.DefaultBreakerCooldown))
	}
	return errors.Join(errs...)
}

// zeroNumber, zeroDuration and zeroSize are the error of an option written
// as 0 or less whose middleware would read that as its default (or, for
// body-timeout's after, as off), as config's for
// a pool's. The default is in the options before the file's keys are
// decoded (see Register), so a key the file leaves out keeps it and one
// it writes as 0 is checked as 0: a file that says 0 means 0, not the
// default, and the gateway must not quietly do otherwise.
func zeroNumber(key string, got, def int) error {
	return fmt.Errorf("%s: want a positive number, got %d: leave %s out for the default, %d", key, got, key, def)
}

func zeroDuration(key string, got, def time.Duration) error {
	return fmt.Errorf("%s: want a positive duration, got %v: leave %s out for the default, %v", key, got, key, def)
}

func zeroSize(key string, got, def int64) error {
	return fmt.Errorf("%s: want a positive size in bytes, got %d: leave %s out for the default, %d", key, got, key, def)
}
