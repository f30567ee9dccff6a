package gateway

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/config"
	"github.com/gocourse/gateway/06-middleware/middleware"
)

// An option its middleware would read as "the default" when it is 0 is
// refused when the file writes 0, at the key's line, naming it and saying
// to leave it out: "cooldown: 0s" or "max_skew: 0s" written for "none"
// would otherwise be 10 s and 5 minutes in silence (and body-timeout's
// "after: 0s" off, where a file that leaves it out gets 60 s) (the chapter's
// pitfall, "timeout: 0s quietly turned into the default").
func TestMiddlewareOptionsWrittenAsZeroAreRefused(t *testing.T) {
	_, err := config.Parse("z.yaml", []byte(`
pools: {p: {targets: ["http://h:1"]}}
routes:
  - pool: p
    middleware:
      - {name: breaker, failures: 0}
      - {name: breaker, cooldown: 0s}
      - {name: rate-limit, rate: 1, burst: 1, max_clients: 0}
      - {name: rate-limit, rate: 1, burst: 1, idle: 0s}
      - {name: auth, api_keys: [{id: a, key: k}], max_skew: 0s}
      - name: breaker
        failures: 2
        cooldown: 0s
      - {name: body-timeout, after: 0s}
      - {name: cache, max_bytes: 0}
      - {name: cache, max_entry_bytes: 0}
`), DefaultRegistry())
	require.Error(t, err)
	assert.Equal(t, "z.yaml:6: routes[0].middleware[0]: breaker: failures: want a positive number, got 0: leave failures out for the default, 5\n"+
		"z.yaml:7: routes[0].middleware[1]: breaker: cooldown: want a positive duration, got 0s: leave cooldown out for the default, 10s\n"+
		"z.yaml:8: routes[0].middleware[2]: rate-limit: max_clients: want a positive number, got 0: leave max_clients out for the default, 10000\n"+
		"z.yaml:9: routes[0].middleware[3]: rate-limit: idle: want a positive duration, got 0s: leave idle out for the default, 10m0s\n"+
		"z.yaml:10: routes[0].middleware[4]: auth: max_skew: want a positive duration, got 0s: leave max_skew out for the default, 5m0s\n"+
		"z.yaml:13: routes[0].middleware[5]: breaker: cooldown: want a positive duration, got 0s: leave cooldown out for the default, 10s\n"+
		"z.yaml:14: routes[0].middleware[6]: body-timeout: after: want a positive duration, got 0s: leave after out for the default, 1m0s\n"+
		"z.yaml:15: routes[0].middleware[7]: cache: max_bytes: want a positive size in bytes, got 0: leave max_bytes out for the default, 67108864\n"+
		"z.yaml:16: routes[0].middleware[8]: cache: max_entry_bytes: want a positive size in bytes, got 0: leave max_entry_bytes out for the default, 1048576", err.Error())
}

// A signed request's timestamp is in whole seconds (middleware.Sign),
// so a max_skew under 1s would refuse a request signed late in its second
// for no fault of the client: the file is refused, saying why. 1s is kept.
func TestAuthMaxSkewUnderASecondIsRefused(t *testing.T) {
	_, err := config.Parse("s.yaml", []byte(`
pools: {p: {targets: ["http://h:1"]}}
routes:
  - pool: p
    middleware:
      - {name: auth, hmac: [{id: a, key: k}], max_skew: 500ms}
      - {name: auth, hmac: [{id: a, key: k}], max_skew: 1s}
`), DefaultRegistry())
	require.Error(t, err)
	assert.Equal(t, "s.yaml:6: routes[0].middleware[0]: auth: max_skew: want 1s or more, got 500ms: "+
		"a signed request's timestamp is in whole seconds, so one signed more than 500ms into its second would be refused", err.Error())
}

// The defaults are in the options before the file's keys are decoded: a
// key left out, or written with no value, keeps its default (the one
// the middleware's constructor would give 0), and a value given is kept.
func TestMiddlewareOptionsLeftOutTakeTheDefaults(t *testing.T) {
	cfg, err := config.Parse("d.yaml", []byte(`
pools: {p: {targets: ["http://h:1"]}}
routes:
  - pool: p
    middleware:
      - breaker
      - name: breaker
        failures:
        cooldown:
      - {name: breaker, failures: 2, cooldown: 3s}
      - {name: rate-limit, rate: 1, burst: 1}
      - {name: rate-limit, rate: 1, burst: 1, max_clients: 7, idle: 1m}
      - {name: auth, api_keys: [{id: a, key: k}]}
      - {name: auth, api_keys: [{id: a, key: k}], max_skew: 30s}
      - body-timeout
      - {name: cache, max_bytes: 4096, max_entry_bytes: 1024}
      - cache
`), DefaultRegistry())
	require.NoError(t, err)
	var got []any
	for _, m := range cfg.Routes[0].Middleware {
		got = append(got, m.Options)
	}
	keys := []KeyOptions{{ID: "a", Key: "k"}}
	want := []any{
		&BreakerOptions{Failures: middleware.DefaultBreakerFailures, Cooldown: middleware.DefaultBreakerCooldown},
		&BreakerOptions{Failures: middleware.DefaultBreakerFailures, Cooldown: middleware.DefaultBreakerCooldown},
		&BreakerOptions{Failures: 2, Cooldown: 3 * time.Second},
		&RateLimitOptions{Rate: 1, Burst: 1, Key: "ip", MaxClients: middleware.DefaultRateLimitClients, Idle: middleware.DefaultRateLimitIdle},
		&RateLimitOptions{Rate: 1, Burst: 1, Key: "ip", MaxClients: 7, Idle: time.Minute},
		&AuthOptions{APIKeys: keys, MaxSkew: middleware.DefaultMaxSkew},
		&AuthOptions{APIKeys: keys, MaxSkew: 30 * time.Second},
		&BodyTimeoutOptions{After: middleware.DefaultBodyTimeout},
		&CacheOptions{MaxBytes: 4096, MaxEntryBytes: 1024},
		&CacheOptions{MaxBytes: middleware.DefaultCacheBytes, MaxEntryBytes: middleware.DefaultCacheEntryBytes},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
}

// The options that have no default (rate-limit's rate and burst,
// body-limit's max_bytes, timeout's after, cors's origins) must be
// given: left out, each is an error at its entry's line, as is a 0
// written for one. A body limit of 0 bytes or a timeout of 0 is no
// setting a file means.
func TestOptionsWithoutADefaultMustBeGiven(t *testing.T) {
	_, err := config.Parse("g.yaml", []byte(`
pools: {p: {targets: ["http://h:1"]}}
routes:
  - pool: p
    middleware:
      - rate-limit
      - body-limit
      - {name: body-limit, max_bytes: 0}
      - timeout
      - {name: timeout, after: 0s}
      - cors
`), DefaultRegistry())
	require.Error(t, err)
	assert.Equal(t, "g.yaml:6: routes[0].middleware[0]: rate-limit: rate: want requests per second above 0, got 0\n"+
		"g.yaml:6: routes[0].middleware[0]: rate-limit: burst: want 1 or more (it has no default: the most requests a client may make at once)\n"+
		"g.yaml:7: routes[0].middleware[1]: body-limit: max_bytes: want a size above 0, got 0\n"+
		"g.yaml:8: routes[0].middleware[2]: body-limit: max_bytes: want a size above 0, got 0\n"+
		"g.yaml:9: routes[0].middleware[3]: timeout: after: want a duration above 0, such as 5s\n"+
		"g.yaml:10: routes[0].middleware[4]: timeout: after: want a duration above 0, such as 5s\n"+
		`g.yaml:11: routes[0].middleware[5]: cors: origins: list at least one origin, or "*"`, err.Error())
}
