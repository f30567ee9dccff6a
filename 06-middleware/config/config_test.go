package config_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/config"
)

// registry is a Registry with two middleware: "plain", which takes no
// options, and "limit", which takes a rate and checks it.
type registry struct{}

type limitOptions struct {
	Rate  float64       `yaml:"rate"`
	Every time.Duration `yaml:"every"`
	// Untagged, as the options of other packages are: their keys are
	// their names in snake_case.
	MaxAge     time.Duration
	HTTPStatus int
	ClientID   string
	Zone       string
}

// Check reports every mistake it finds, joined.
func (o *limitOptions) Check() error {
	var errs []error
	if o.Rate <= 0 {
		errs = append(errs, errors.New("rate: want above 0"))
	}
	if o.HTTPStatus < 0 {
		errs = append(errs, errors.New("http_status: want 0 or more"))
	}
	return errors.Join(errs...)
}

func (registry) Names() []string { return []string{"limit", "plain"} }
func (registry) Options(name string) any {
	switch name {
	case "plain":
		return &struct{}{}
	case "limit":
		return &limitOptions{Rate: 1}
	}
	return nil
}

const valid = `
listen:
  addr: 127.0.0.1:0
  write_timeout: 30s
pools:
  api:
    balancer: swrr
    targets:
      - http://127.0.0.1:9001
      - url: http://127.0.0.1:9002
        weight: 3
    health: {path: /health, rise: 1}
routes:
  - host: API.example.com
    path: /v1/
    strip_prefix: true
    pool: api
    middleware:
      - plain
      - name: limit
        rate: 5
        max_age: 1m
        http_status: 429
        client_id: c1
        zone: z
  - pool: api
runtime:
  gc_percent: 400
  procs_per_cpu: 2
`

func TestParseFillsDefaultsAndKeepsTheFilesValues(t *testing.T) {
	cfg, err := config.Parse("gw.yaml", []byte(valid), registry{})
	require.NoError(t, err)
	assert.Equal(t, config.Runtime{GCPercent: 400, ProcsPerCPU: 2}, cfg.Runtime, "memory_limit_bytes left at 0: Go's own")
	assert.Equal(t, config.Log{FlushInterval: time.Second, Unrouted: true}, cfg.Log, "no log section: each line at once, the default interval, and a line for each request no route answers")

	assert.Equal(t, config.Listener{
		Addr: "127.0.0.1:0", WriteTimeout: 30 * time.Second, // the file's
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: time.Minute, SendTimeout: time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
	}, cfg.Listen)

	p := cfg.Pools["api"]
	require.NotNil(t, p)
	assert.Equal(t, "api", p.Name)
	assert.Equal(t, "swrr", p.Balancer)
	var urls []string
	var weights []int
	for _, tg := range p.Targets {
		urls = append(urls, tg.URL.String())
		weights = append(weights, tg.Weight)
	}
	assert.Equal(t, []string{"http://127.0.0.1:9001", "http://127.0.0.1:9002"}, urls)
	assert.Equal(t, []int{1, 3}, weights, "a bare URL weighs 1")
	if diff := cmp.Diff(config.Health{Path: "/health", Interval: 2 * time.Second, Timeout: time.Second, Status: 200, Rise: 1, Fall: 3}, p.Health); diff != "" {
		t.Errorf("health: HAProxy's defaults where the file says nothing (-want +got):\n%s", diff)
	}
	assert.Equal(t, config.Retry{Tries: 3, Timeout: 5 * time.Second, MaxBodyBytes: 64 << 10}, p.Retry)
	assert.Equal(t, config.Passive{MaxFails: 1, FailTimeout: 10 * time.Second}, p.Passive, "nginx's max_fails and fail_timeout")
	assert.Equal(t, config.Transport{DialTimeout: 2 * time.Second, ResponseHeaderTimeout: time.Minute, ResponseBodyTimeout: time.Minute, MaxIdleConnsPerHost: 256}, p.Transport,
		"a backend that never answers, or stops mid-body, is cut off after a minute, as with nginx's proxy_read_timeout")

	require.Len(t, cfg.Routes, 2)
	r := cfg.Routes[0]
	assert.Equal(t, "api.example.com", r.Host, "host names are case-insensitive")
	assert.Equal(t, "/v1", r.Path, "a trailing slash is dropped")
	assert.Equal(t, "api.example.com/v1", r.Name)
	assert.True(t, r.StripPrefix)
	require.Len(t, r.Middleware, 2)
	assert.Equal(t, "limit", r.Middleware[1].Name)
	assert.Equal(t, &limitOptions{Rate: 5, MaxAge: time.Minute, HTTPStatus: 429, ClientID: "c1", Zone: "z"}, r.Middleware[1].Options)
	assert.Equal(t, "/", cfg.Routes[1].Path, "no path means every path")
	assert.Equal(t, 14, cfg.Routes[0].Line)

	cfg, err = config.Parse("gw.yaml", []byte("pools: {p: {targets: [http://h:1]}}\nroutes: [{pool: p}]\n"), registry{})
	require.NoError(t, err)
	assert.Equal(t, config.Listener{
		Addr: "127.0.0.1:8080", ReadHeaderTimeout: 5 * time.Second, ReadTimeout: time.Minute, SendTimeout: time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
	}, cfg.Listen, "no listen section: every default")
}

// Every mistake is reported with the file, the line, the key path and the
// reason, all of them at once.
func TestParseReportsEveryError(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		// The file ends (line 2) inside the list that line 1 opens.
		{"not YAML", "pools: [\n", []string{`f.yaml:2: not valid YAML: did not find expected node content`}},
		// The yaml package counts the lines of these mistakes from 0.
		{"not YAML on the first line", "pools: {p: {targets: [http://h:1?a=b]}}\nroutes: [{pool: p}]\n", []string{
			`f.yaml:1: not valid YAML: did not find expected ',' or ']'`}},
		{"not YAML further down", "pools:\n  p:\n    targets:\n      - [::1]:9001\nroutes: [{pool: p}]\n", []string{
			`f.yaml:4: not valid YAML: did not find expected node content`}},
		{"a flow list left open", "pools: {p: {targets: [http://h:1]}}\nroutes: [{pool: p}\nlisten: {addr: 127.0.0.1:0}\n", []string{
			`f.yaml:2: not valid YAML: did not find expected ',' or ']'`}},
		// The yaml package gives no line: the alias's is found in the text,
		// past comments and quoted strings that hold the same characters.
		{"an alias of no anchor", "pools: {p: {targets: [http://h:1]}}\nroutes: [{pool: *p}]\n", []string{
			`f.yaml:2: not valid YAML: *p names no anchor: an alias needs an anchor (&p) earlier in the file`}},
		{"an alias of no anchor, after a comment and a string that hold it", "pools: {p: {targets: [http://h:1]}}\nroutes:\n  - pool: web # *p\n  - {pool: \"*p\", path: /a}\n  - {pool: *p}\n", []string{
			`f.yaml:5: not valid YAML: *p names no anchor: an alias needs an anchor (&p) earlier in the file`}},
		{"an alias before its anchor", "routes: [{pool: *p}]\npools: {p: {targets: [http://h:1]}}\nx: &p p\n", []string{
			`f.yaml:1: not valid YAML: *p names no anchor: an alias needs an anchor (&p) earlier in the file`}},
		// The yaml package says "found character that cannot start any
		// token" of a tab, and gives "violates indentation" the line
		// before the tab's.
		{"a tab that indents a key", "pools:\n  web:\n\tbalancer: roundrobin\n    targets: [http://h:1]\nroutes: [{pool: web}]\n", []string{
			`f.yaml:3: not valid YAML: a tab in this line's indentation: YAML indents with spaces only`}},
		{"a tab after spaces", "pools:\n  web:\n  \ttargets: [http://h:1]\nroutes: [{pool: web}]\n", []string{
			`f.yaml:3: not valid YAML: a tab in this line's indentation: YAML indents with spaces only`}},
		{"a tab that indents a list item", "pools: {web: {targets: [http://h:1]}}\nroutes:\n\t- {pool: web}\n", []string{
			`f.yaml:3: not valid YAML: a tab in this line's indentation: YAML indents with spaces only`}},
		{"a tab that violates indentation", "pools:\n  web:\n    targets:\n    - http://h:1\n\nroutes:\n  - pool: web\n\t  path: /\n", []string{
			`f.yaml:8: not valid YAML: a tab in this line's indentation: YAML indents with spaces only`}},
		{"empty", "", []string{`f.yaml: the file is empty`}},
		{"not UTF-8", "pools: {p: {targets: [http://h:1]}}\n# caf\xe9\nroutes: [{pool: p}]\n", []string{
			`f.yaml:2: not valid YAML: byte 0xe9 is not UTF-8 (is the file saved in another encoding, such as Latin-1?)`}},
		{"not UTF-8 from the first byte", "\xe9t\xe9: 1\n", []string{
			`f.yaml:1: not valid YAML: byte 0xe9 is not UTF-8 (is the file saved in another encoding, such as Latin-1?)`}},
		{"a control character", "pools: {p: {targets: [http://h:1]}}\n# a\x01b\nroutes: [{pool: p}]\n", []string{
			`f.yaml:2: not valid YAML: character U+0001 is not allowed in YAML (of the control characters, it takes only tab and line breaks)`}},
		{"a C1 control character", "pools: {p: {targets: [http://h:1]}}\nroutes: [{pool: p}]\n# \u0080\n", []string{
			`f.yaml:3: not valid YAML: character U+0080 is not allowed in YAML (of the control characters, it takes only tab and line breaks)`}},
		{"two documents", "pools: {p: {targets: [http://h:1]}}\nroutes: [{pool: p}]\n---\nroutes: [{pool: q}]\n", []string{
			`f.yaml:3: a second YAML document (after ---): the configuration is one document, and the rest would be ignored`}},
		{"a second document that is not YAML", "pools: {p: {targets: [http://h:1]}}\nroutes: [{pool: p}]\n---\nroutes: [\n", []string{
			`f.yaml:5: not valid YAML: did not find expected node content`}},
		// A mistake in pools or routes is not reported again as "no pools"
		// or "no routes", which, without a line, would come first.
		{"pools and routes of the wrong shape", "pools: [web]\nroutes: {path: /, pool: web}\n", []string{
			`f.yaml:1: pools: want a mapping of names to settings, got a list`,
			`f.yaml:2: routes: want a list (lines starting with -), got a mapping`}},
		// Nor is a pool's mistake reported again as "no targets": a key
		// in their place (a typo, or another gateway's word for them,
		// holding the list), targets or the pool of the wrong shape, a
		// merge key that was to bring them. A pool whose unknown key is
		// not a list has no targets as well: both are said.
		{"no targets because of another mistake", `
pools:
  typo: {targts: &l [http://h:1]}
  aliased: {targts: *l}
  other_word:
    servers:
      - http://h:2
  one_url: {targets: http://h:3}
  as_a_list: [http://h:4]
  merged:
    <<: {targets: [http://h:5]}
  two_mistakes: {helth: {path: /}}
  nested: {health: {paths: [/a]}}
routes: [{pool: typo}]
`, []string{
			`f.yaml:3: pools.typo.targts: unknown key "targts" (known: balancer, health, key, load_factor, passive, replicas, retry, table_size, targets, transport)`,
			`f.yaml:4: pools.aliased.targts: unknown key "targts" (known: balancer, health, key, load_factor, passive, replicas, retry, table_size, targets, transport)`,
			`f.yaml:6: pools.other_word.servers: unknown key "servers" (known: balancer, health, key, load_factor, passive, replicas, retry, table_size, targets, transport)`,
			`f.yaml:8: pools.one_url.targets: want a list (lines starting with -), got "http://h:3"`,
			`f.yaml:9: pools.as_a_list: want a mapping (key: value lines), got a list`,
			`f.yaml:11: pools.merged.<<: merge keys (<<) are not supported: write the keys out, or alias a whole value (key: *name)`,
			`f.yaml:12: pools.two_mistakes.helth: unknown key "helth" (known: balancer, health, key, load_factor, passive, replicas, retry, table_size, targets, transport)`,
			`f.yaml:12: pools.two_mistakes.targets: no targets: a pool needs at least one backend URL`,
			`f.yaml:13: pools.nested.health.paths: unknown key "paths" (known: fall, interval, path, rise, status, timeout)`,
			`f.yaml:13: pools.nested.targets: no targets: a pool needs at least one backend URL`}},
		{"a list, not a mapping", "- pools\n- routes\n", []string{
			`f.yaml:1: want a mapping (key: value lines), got a list`}},
		{"nothing defined", "listen: {addr: 127.0.0.1:80}\n", []string{
			`f.yaml: pools: no pools: define at least one pool of backends`,
			`f.yaml: routes: no routes: define at least one route to a pool`}},
		{"unknown keys", `
listen:
  adress: 127.0.0.1:80
pools:
  p: {targets: [http://h:1], colour: red}
routes: [{pool: p}]
hosts: []
`, []string{
			`f.yaml:3: listen.adress: unknown key "adress" (known: addr, idle_timeout, max_header_bytes, read_header_timeout, read_timeout, send_timeout, write_timeout)`,
			`f.yaml:5: pools.p.colour: unknown key "colour" (known: balancer, health, key, load_factor, passive, replicas, retry, table_size, targets, transport)`,
			`f.yaml:7: hosts: unknown key "hosts" (known: admin, listen, log, pools, routes, runtime)`}},
		{"bad runtime", `
runtime: {gc_percent: -1, memory_limit_bytes: 16777215}
pools: {p: {targets: [http://h:1]}}
routes: [{pool: p}]
`, []string{
			`f.yaml:2: runtime.gc_percent: negative percentage -1 (0 leaves Go's setting; the file cannot turn the collector off, GOGC=off in the environment does)`,
			`f.yaml:2: runtime.memory_limit_bytes: 16777215 is not a memory limit: want 0 (none) or at least 16777216 (16 MiB)`}},
		// GOGC=off exists, and "not a whole number" alone sent whoever
		// wrote off to look for a number that means it.
		{"gc_percent: off", `
runtime: {gc_percent: off}
pools: {p: {targets: [http://h:1]}}
routes: [{pool: p}]
`, []string{
			`f.yaml:2: runtime.gc_percent: "off" is not a whole number: the file cannot turn the collector off, GOGC=off in the environment does (beside memory_limit_bytes, the collector then runs only near the limit)`}},
		{"procs_per_cpu: one past the bound", `
runtime:
  procs_per_cpu: 9
pools: {p: {targets: [http://h:1]}}
routes: [{pool: p}]
`, []string{
			`f.yaml:3: runtime.procs_per_cpu: 9 is not a multiple of the CPUs to use: want 1 to 8 (0 leaves Go's setting, one per CPU)`}},
		{"procs_per_cpu: negative", `
runtime: {procs_per_cpu: -1}
pools: {p: {targets: [http://h:1]}}
routes: [{pool: p}]
`, []string{
			`f.yaml:2: runtime.procs_per_cpu: -1 is not a multiple of the CPUs to use: want 1 to 8 (0 leaves Go's setting, one per CPU)`}},
		{"bad log", `
log: {buffer_bytes: -1, flush_interval: 0s}
pools: {p: {targets: [http://h:1]}}
routes: [{pool: p}]
`, []string{
			`f.yaml:2: log.buffer_bytes: -1 is not a buffer size: want 0 (each line written at once) to 16777216 (16 MiB)`,
			`f.yaml:2: log.flush_interval: 0s is not an interval: want 1ms or more, such as 1s (a shorter one keeps a CPU busy flushing; 0 would let lines wait for ever)`}},
		{"log unrouted not a boolean", `
log: {unrouted: off}
pools: {p: {targets: [http://h:1]}}
routes: [{pool: p}]
`, []string{
			`f.yaml:2: log.unrouted: "off" is not true or false: write false (YAML 1.2, which the gateway reads, takes yes, no, on and off as text)`}},
		{"log flush interval too short", `
log: {buffer_bytes: 65536, flush_interval: 1us}
pools: {p: {targets: [http://h:1]}}
routes: [{pool: p}]
`, []string{
			`f.yaml:2: log.flush_interval: 1µs is not an interval: want 1ms or more, such as 1s (a shorter one keeps a CPU busy flushing; 0 would let lines wait for ever)`}},
		{"log buffer too big", `
log:
  buffer_bytes: 16777217
pools: {p: {targets: [http://h:1]}}
routes: [{pool: p}]
`, []string{
			`f.yaml:3: log.buffer_bytes: 16777217 is not a buffer size: want 0 (each line written at once) to 16777216 (16 MiB)`}},
		{"wrong types", `
listen: {addr: 127.0.0.1:80, read_timeout: 10, max_header_bytes: lots}
pools:
  p:
    targets: http://h:1
    retry: {tries: 2.5}
routes:
  - {pool: p, strip_prefix: yes please, preserve_host: 1}
`, []string{
			`f.yaml:2: listen.read_timeout: "10" is not a duration: want a number with a unit, such as 500ms, 10s or 2m`,
			`f.yaml:2: listen.max_header_bytes: "lots" is not a whole number`,
			`f.yaml:5: pools.p.targets: want a list (lines starting with -), got "http://h:1"`,
			`f.yaml:6: pools.p.retry.tries: "2.5" is not a whole number`,
			`f.yaml:8: routes[0].strip_prefix: "yes please" is not true or false`,
			`f.yaml:8: routes[0].preserve_host: "1" is not true or false`}},
		// ~ and null are what an empty value is spelt, not a URL or a name.
		{"null spelt out", `
pools:
  p:
    targets: [~, {url: null}]
routes:
  - {pool: p, middleware: [NULL, {name: ~}]}
`, []string{
			`f.yaml:4: pools.p.targets[0].url: bad target URL: empty; want a URL such as http://127.0.0.1:9001`,
			`f.yaml:4: pools.p.targets[1].url: bad target URL: empty; want a URL such as http://127.0.0.1:9001`,
			`f.yaml:6: routes[0].middleware[0]: empty: want a middleware's name, one of limit, plain`,
			`f.yaml:6: routes[0].middleware[1].name: empty: want a middleware's name, one of limit, plain`}},
		{"YAML 1.1 booleans", `
pools: {p: {targets: [http://h:1]}}
routes:
  - {pool: p, path: /a, strip_prefix: yes, preserve_host: Off}
  - {pool: p, path: /b, strip_prefix: !!bool yes, preserve_host: "t"}
`, []string{
			`f.yaml:4: routes[0].strip_prefix: "yes" is not true or false: write true (YAML 1.2, which the gateway reads, takes yes, no, on and off as text)`,
			`f.yaml:4: routes[0].preserve_host: "Off" is not true or false: write false (YAML 1.2, which the gateway reads, takes yes, no, on and off as text)`,
			`f.yaml:5: routes[1].strip_prefix: "yes" is not true or false: write true (YAML 1.2, which the gateway reads, takes yes, no, on and off as text)`,
			`f.yaml:5: routes[1].preserve_host: "t" is not true or false`}},
		{"unknown balancer and key", `
pools:
  api:
    balancer: fastest
    key: body
    targets: [http://h:1]
routes: [{pool: api}]
`, []string{
			`f.yaml:4: pools.api.balancer: unknown balancer "fastest" (known: bounded, chash, leastconn, maglev, p2c, random, roundrobin, swrr)`,
			`f.yaml:5: pools.api.key: bad key "body": want ip, path, header:NAME, cookie:NAME or none`}},
		{"bad targets", `
pools:
  p:
    targets:
      - 127.0.0.1:9001
      - ftp://h:1
      - http://h:1/base
      - {url: "http://h:2", weight: 0}
      - http://h:2
      - {url: "http://h:3", weight: 257}
      - http://H:2
      - http://x
      - http://x:80
      - https://x
      - "http://[::1]:1"
      - "http://[0:0::1]:01"
routes: [{pool: p}]
`, []string{
			`f.yaml:5: pools.p.targets[0].url: bad target URL "127.0.0.1:9001": no scheme; did you mean http://127.0.0.1:9001?`,
			`f.yaml:6: pools.p.targets[1].url: bad target URL "ftp://h:1": scheme "ftp"; want a URL that starts with http:// or https://`,
			`f.yaml:7: pools.p.targets[2].url: "http://h:1/base" has a path, query or fragment; a target is scheme://host:port only (use a route's strip_prefix to change paths)`,
			`f.yaml:8: pools.p.targets[3].weight: weight 0: want 1 to 256`,
			`f.yaml:9: pools.p.targets[4].url: h:2 is already targets[3]`,
			`f.yaml:10: pools.p.targets[5].weight: weight 257: want 1 to 256`,
			`f.yaml:11: pools.p.targets[6].url: H:2 is already targets[3] (h:2: the same host and port)`,
			`f.yaml:13: pools.p.targets[8].url: x:80 is already targets[7] (x: the same host and port)`,
			`f.yaml:16: pools.p.targets[11].url: [0:0::1]:01 is already targets[10] ([::1]:1: the same host and port)`}},
		{"bad health and retry", `
pools:
  p:
    targets: [http://h:1]
    health: {path: health, status: 42, rise: 0, fall: 0}
    retry: {tries: 0, timeout: -1s}
routes: [{pool: p}]
`, []string{
			`f.yaml:5: pools.p.health.path: "health" does not start with /`,
			`f.yaml:5: pools.p.health.status: 42 is not an HTTP status`,
			`f.yaml:5: pools.p.health.rise: want 1 or more, got 0`,
			`f.yaml:5: pools.p.health.fall: want 1 or more, got 0`,
			`f.yaml:6: pools.p.retry.tries: want 1 or more (1 means no retries), got 0`,
			`f.yaml:6: pools.p.retry.timeout: negative duration -1s (0 means no limit but tries)`}},
		{"routes", `
pools:
  api: {targets: [http://h:1]}
  web: {targets: [http://h:2]}
routes:
  - {path: /api, pool: apx}
  - {path: api, pool: api}
  - {host: "a.example:80", pool: api}
  - {path: /}
  - {host: x.example, path: /a, pool: api}
  - {host: X.example, path: /a/, pool: web}
  - {path: "/a;b", pool: api}
  - {path: '/a\b', pool: api}
  - {path: //a, pool: api}
  - {path: /a/../b, pool: api}
  - {path: /a/./b, pool: api}
  - {host: "*", pool: api}
  - {pool: web}
  - {path: /a%20b, pool: api}
`, []string{
			`f.yaml:6: routes[0].pool: no pool "apx" (pools: api, web)`,
			`f.yaml:7: routes[1].path: "api" does not start with /`,
			`f.yaml:8: routes[2].host: "a.example:80" is not a host name: want name.example, *.example or nothing (any host), without a port`,
			`f.yaml:9: routes[3].pool: missing: say which pool serves this route (pools: api, web)`,
			`f.yaml:11: routes[5]: duplicate route: host "x.example" path "/a" is already routes[4] (line 10)`,
			`f.yaml:12: routes[6].path: "/a;b" would never match: requests are routed by their path in normal form (slashes merged, a backslash read as a slash, a segment's ';' and what follows dropped, no '.' or '..' segment); write it so`,
			`f.yaml:13: routes[7].path: "/a\\b" would never match: requests are routed by their path in normal form (slashes merged, a backslash read as a slash, a segment's ';' and what follows dropped, no '.' or '..' segment); write it so`,
			`f.yaml:14: routes[8].path: "//a" would never match: requests are routed by their path in normal form (slashes merged, a backslash read as a slash, a segment's ';' and what follows dropped, no '.' or '..' segment); write it so`,
			`f.yaml:15: routes[9].path: "/a/../b" would never match: requests are routed by their path in normal form (slashes merged, a backslash read as a slash, a segment's ';' and what follows dropped, no '.' or '..' segment); write it so`,
			`f.yaml:16: routes[10].path: "/a/./b" would never match: requests are routed by their path in normal form (slashes merged, a backslash read as a slash, a segment's ';' and what follows dropped, no '.' or '..' segment); write it so`,
			`f.yaml:17: routes[11]: duplicate route: host "" path "/" is already routes[3] (line 9)`,
			`f.yaml:18: routes[12]: duplicate route: host "" path "/" is already routes[3] (line 9)`,
			`f.yaml:19: routes[13].path: "/a%20b" has a %-escape, but routes match the request's path decoded (a request for /a%20b is routed as /a b); write the character itself`}},
		{"route hosts", `
pools: {p: {targets: [http://h:1]}}
routes:
  - {host: a..b, pool: p}
  - {host: .a.b, pool: p}
  - {host: a.b., pool: p}
  - {host: -a.b, pool: p}
  - {host: a-.b, pool: p}
  - {host: "a b", pool: p}
  - {host: a_b.example, pool: p}
  - {host: bücher.example, pool: p}
  - {host: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example, pool: p}
  - {host: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.example, pool: p}
  - {host: ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc.ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc.ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc.ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc, pool: p}
  - {host: "*.a..b", pool: p}
  - {host: a.*.b, pool: p}
  - {host: "*a.b", pool: p}
  - {host: "**.a.b", pool: p}
  - {host: 10.0.0.256, pool: p}
  - {host: 010.0.0.1, pool: p}
  - {host: 1.2.3, pool: p}
  - {host: "[::1]:80", pool: p}
  - {host: 10.0.0.1, pool: p}
  - {host: 1password.example, pool: p}
  - {host: "*.xn--bcher-kva.example", pool: p}
  - {host: x-1.example.c0m, pool: p}
  - {host: a, pool: p}
`, []string{
			`f.yaml:4: routes[0].host: "a..b" is not a host name: an empty label (two dots in a row, or a dot first): each dot separates two labels`,
			`f.yaml:5: routes[1].host: ".a.b" is not a host name: an empty label (two dots in a row, or a dot first): each dot separates two labels`,
			`f.yaml:6: routes[2].host: "a.b." is not a host name: it ends with a dot: requests are routed by their host without one, so write it without`,
			`f.yaml:7: routes[3].host: "-a.b" is not a host name: label "-a" starts or ends with '-'`,
			`f.yaml:8: routes[4].host: "a-.b" is not a host name: label "a-" starts or ends with '-'`,
			`f.yaml:9: routes[5].host: "a b" is not a host name: label "a b" has a character other than a letter, a digit or '-' (an international name is written in its ASCII form, xn--...)`,
			`f.yaml:10: routes[6].host: "a_b.example" is not a host name: label "a_b" has a character other than a letter, a digit or '-' (an international name is written in its ASCII form, xn--...)`,
			`f.yaml:11: routes[7].host: "bücher.example" is not a host name: label "bücher" has a character other than a letter, a digit or '-' (an international name is written in its ASCII form, xn--...)`,
			`f.yaml:13: routes[9].host: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.example" is not a host name: label "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" is 64 characters long: a label has at most 63`,
			`f.yaml:14: routes[10].host: "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc.ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc.ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc.ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc" is not a host name: 255 characters long: a host name has at most 253`,
			`f.yaml:15: routes[11].host: "*.a..b" is not a host name: an empty label (two dots in a row, or a dot first): each dot separates two labels`,
			`f.yaml:16: routes[12].host: "a.*.b" is not a host name: a wildcard is "*." before a name, as *.example.com, and matches every name under it`,
			`f.yaml:17: routes[13].host: "*a.b" is not a host name: a wildcard is "*." before a name, as *.example.com, and matches every name under it`,
			`f.yaml:18: routes[14].host: "**.a.b" is not a host name: a wildcard is "*." before a name, as *.example.com, and matches every name under it`,
			`f.yaml:19: routes[15].host: "10.0.0.256" is not a host name: its last label is all digits, but it is not an IPv4 address`,
			`f.yaml:20: routes[16].host: "010.0.0.1" is not a host name: its last label is all digits, but it is not an IPv4 address`,
			`f.yaml:21: routes[17].host: "1.2.3" is not a host name: its last label is all digits, but it is not an IPv4 address`,
			`f.yaml:22: routes[18].host: "[::1]:80" is not a host name: want name.example, *.example or nothing (any host), without a port`}},
		{"middleware", `
pools:
  p: {targets: [http://h:1]}
routes:
  - pool: p
    middleware:
      - gzip
      - {name: limit, rate: 0}
      - {name: limit, burst: 3}
      - {rate: 3}
      - [plain]
      - {name: plain, colour: red}
      - {name: limit, rate: 0, every: soon}
`, []string{
			`f.yaml:7: routes[0].middleware[0].name: unknown middleware "gzip" (known: limit, plain)`,
			`f.yaml:8: routes[0].middleware[1]: limit: rate: want above 0`,
			`f.yaml:9: routes[0].middleware[2].burst: unknown key "burst" (known: client_id, every, http_status, max_age, rate, zone)`,
			`f.yaml:10: routes[0].middleware[3]: no name: each middleware starts with name: and one of limit, plain`,
			`f.yaml:11: routes[0].middleware[4]: want a middleware name or a mapping with name:, got a list`,
			`f.yaml:12: routes[0].middleware[5].colour: unknown key "colour": it takes no options`,
			`f.yaml:13: routes[0].middleware[6].every: "soon" is not a duration: want a number with a unit, such as 500ms, 10s or 2m`,
			`f.yaml:13: routes[0].middleware[6]: limit: rate: want above 0`}},
		{"a middleware's check beside its options' decoding errors", `
pools: {p: {targets: [http://h:1]}}
routes:
  - pool: p
    middleware:
      - name: limit
        every: soon
        rate: 0
      - {name: limit, rate: 0, http_status: -1}
`, []string{
			`f.yaml:7: routes[0].middleware[0].every: "soon" is not a duration: want a number with a unit, such as 500ms, 10s or 2m`,
			`f.yaml:8: routes[0].middleware[0]: limit: rate: want above 0`, // at the key it names
			`f.yaml:9: routes[0].middleware[1]: limit: rate: want above 0`,
			`f.yaml:9: routes[0].middleware[1]: limit: http_status: want 0 or more`}},
		{"a middleware named twice", `
pools: {p: {targets: [http://h:1]}}
routes:
  - pool: p
    middleware:
      - name: limit
        rate: 5
        name: plain
`, []string{
			`f.yaml:8: routes[0].middleware[0].name: given twice (first on line 6)`}},
		{"the rest", `
listen: {addr: 127.0.0.1:80, idle_timeout: -1s, max_header_bytes: -1}
admin: {addr: localhost}
pools:
  "a b": {targets: [http://h:1]}
  q:
    balancer: bounded
    load_factor: 0.5
    targets: [http://h:2]
    health: {interval: 0s}
    retry: {max_body_bytes: -1}
  r:
    targets: [http://h:3]
    health: {interval: 1s, timeout: 2s}
    transport: [1]
    load_factor: fast
    passive: 3
routes: [{pool: q}]
`, []string{
			`f.yaml:2: listen.idle_timeout: negative duration -1s`,
			`f.yaml:2: listen.max_header_bytes: negative size -1`,
			`f.yaml:3: admin.addr: "localhost" is not host:port with a port from 0 to 65535, such as 127.0.0.1:9090`,
			`f.yaml:5: pools.a b: pool name "a b": use letters, digits, - and _`,
			`f.yaml:8: pools.q.load_factor: bounded load: the load factor c must be from 1 to 1000000, got 0.5`,
			`f.yaml:10: pools.q.health.interval: want a positive duration, got 0s`,
			`f.yaml:11: pools.q.retry.max_body_bytes: negative size -1`,
			`f.yaml:14: pools.r.health.timeout: want a positive duration no longer than interval (1s), got 2s`,
			`f.yaml:15: pools.r.transport: want a mapping (key: value lines), got a list`,
			`f.yaml:16: pools.r.load_factor: "fast" is not a number`,
			`f.yaml:17: pools.r.passive: want a mapping (key: value lines), got "3"`}},
		{"ports, transport, passive and interval", `
listen: {addr: "127.0.0.1:99999"}
admin: {addr: "localhost:http-alt-bogus"}
pools:
  p:
    targets: [http://h:1]
    health: {path: /health, interval: 50ms}
    transport: {dial_timeout: -1s, response_header_timeout: -1s, response_body_timeout: -1s, max_idle_conns_per_host: 0}
    passive: {max_fails: -1, fail_timeout: -5s}
routes: [{pool: p}]
`, []string{
			`f.yaml:2: listen.addr: "127.0.0.1:99999" is not host:port with a port from 0 to 65535, such as 127.0.0.1:8080`,
			`f.yaml:3: admin.addr: "localhost:http-alt-bogus" is not host:port with a port from 0 to 65535, such as 127.0.0.1:9090`,
			`f.yaml:7: pools.p.health.interval: 50ms is too often: want at least 100ms`,
			`f.yaml:8: pools.p.transport.dial_timeout: negative duration -1s (0 means the system's limit)`,
			`f.yaml:8: pools.p.transport.response_header_timeout: negative duration -1s (0 means none)`,
			`f.yaml:8: pools.p.transport.response_body_timeout: negative duration -1s (0 means none)`,
			`f.yaml:8: pools.p.transport.max_idle_conns_per_host: want 1 or more, got 0`,
			`f.yaml:9: pools.p.passive.max_fails: want 0 or more (0 turns passive health off, as nginx's max_fails=0), got -1`,
			`f.yaml:9: pools.p.passive.fail_timeout: want a positive duration, got -5s: leave fail_timeout out for the default, 10s`}},
		{"one address for both listeners", `
listen: {addr: "127.0.0.1:8080"}
admin: {addr: "127.0.0.1:8080"}
pools: {p: {targets: [http://h:1]}}
routes: [{pool: p}]
`, []string{
			`f.yaml:3: admin.addr: "127.0.0.1:8080" is listen.addr too: the admin listener needs an address of its own`}},
		{"both listeners on one port, one of them on every address", `
listen: {addr: "0.0.0.0:8080"}
admin: {addr: ":8080"}
pools: {p: {targets: [http://h:1]}}
routes: [{pool: p}]
`, []string{
			`f.yaml:3: admin.addr: ":8080" and listen.addr "0.0.0.0:8080" share port 8080, and ":8080" takes it on every address: the admin listener needs an address of its own`}},
		{"both listeners on one address written two ways", `
listen: {addr: "127.0.0.1:8080"}
admin: {addr: "[::ffff:127.0.0.1]:08080"}
pools: {p: {targets: [http://h:1]}}
routes: [{pool: p}]
`, []string{
			`f.yaml:3: admin.addr: "[::ffff:127.0.0.1]:08080" and listen.addr "127.0.0.1:8080" are one address written two ways: the admin listener needs an address of its own`}},
		{"balancer options out of range, each at its own key", `
pools:
  c: {balancer: chash, replicas: 5000, targets: [http://h:1]}
  m:
    balancer: maglev
    table_size: 1000000007
    targets: [http://h:2]
  b:
    balancer: bounded
    replicas: -1
    load_factor: 0.5
    targets: [http://h:3]
  z: {balancer: bounded, replicas: 0, load_factor: 0, targets: [http://h:4]}
  y: {balancer: maglev, table_size: 0, targets: [http://h:5]}
routes: [{pool: c}, {path: /m, pool: m}]
`, []string{
			`f.yaml:3: pools.c.replicas: chash: replicas must be from 1 to 1000 (0 for the default, 160), got 5000`,
			`f.yaml:6: pools.m.table_size: maglev: the table size must be a prime no larger than 4194304 (such as 65537), got 1000000007`,
			`f.yaml:10: pools.b.replicas: bounded load: replicas must be from 1 to 1000 (0 for the default, 160), got -1`,
			`f.yaml:11: pools.b.load_factor: bounded load: the load factor c must be from 1 to 1000000, got 0.5`,
			`f.yaml:13: pools.z.replicas: want a positive number, got 0: leave replicas out for the default, 160`,
			`f.yaml:13: pools.z.load_factor: want a positive number, got 0: leave load_factor out for the default, 1.25`,
			`f.yaml:14: pools.y.table_size: want a positive number, got 0: leave table_size out for the default, 65537`}},
		{"balancer options the balancer does not use", `
pools:
  r:
    replicas: 100
    targets: [http://h:1]
  s: {balancer: swrr, table_size: 65537, load_factor: 2, targets: [http://h:2]}
  m:
    balancer: maglev
    load_factor: 1.5
    replicas: 0
    table_size: 65537
    targets: [http://h:3]
  b: {balancer: bounded, replicas: 100, load_factor: 1.5, targets: [http://h:4]}
  n:
    replicas:
    targets: [http://h:5]
  k: {balancer: p2c, key: "header:X-User", targets: [http://h:6]}
  c: {balancer: chash, key: cookie:cart, targets: [http://h:7]}
routes: [{pool: r}]
`, []string{
			`f.yaml:4: pools.r.replicas: roundrobin (the default balancer) does not use replicas; it is an option of bounded and chash`,
			`f.yaml:6: pools.s.load_factor: swrr does not use load_factor; it is an option of bounded`,
			`f.yaml:6: pools.s.table_size: swrr does not use table_size; it is an option of maglev`,
			`f.yaml:9: pools.m.load_factor: maglev does not use load_factor; it is an option of bounded`,
			`f.yaml:10: pools.m.replicas: maglev does not use replicas; it is an option of bounded and chash`,
			`f.yaml:17: pools.k.key: p2c does not use key; it is an option of bounded, chash and maglev`}},
		{"fail_timeout given as zero", `
pools:
  p: {targets: [http://h:1], passive: {fail_timeout: 0s}}
  off: {targets: [http://h:2], passive: {max_fails: 0, fail_timeout: 0s}}
routes: [{pool: p}]
`, []string{
			`f.yaml:3: pools.p.passive.fail_timeout: want a positive duration, got 0s: leave fail_timeout out for the default, 10s`,
			`f.yaml:4: pools.off.passive.fail_timeout: want a positive duration, got 0s: leave fail_timeout out for the default, 10s`}},
		{"health timeout given as zero or negative", `
pools:
  z: {targets: [http://h:1], health: {path: /health, interval: 1s, timeout: 0s}}
  n:
    targets: [http://h:2]
    health: {timeout: -1s}
  f:
    targets: [http://h:3]
    health: {timeout: fast}
routes: [{pool: z}]
`, []string{
			`f.yaml:3: pools.z.health.timeout: want a positive duration, got 0s: leave timeout out for the default, half the interval (500ms)`,
			`f.yaml:6: pools.n.health.timeout: want a positive duration, got -1s: leave timeout out for the default, half the interval (1s)`,
			`f.yaml:9: pools.f.health.timeout: "fast" is not a duration: want a number with a unit, such as 500ms, 10s or 2m`}},
		{"numbers that are not finite", `
pools:
  b: {balancer: bounded, load_factor: NaN, targets: [http://h:1]}
routes:
  - pool: b
    middleware:
      - {name: limit, rate: NaN}
      - {name: limit, rate: Inf}
      - {name: limit, rate: -infinity}
`, []string{
			`f.yaml:3: pools.b.load_factor: "NaN" is not a number`,
			`f.yaml:7: routes[0].middleware[0].rate: "NaN" is not a number`,
			`f.yaml:8: routes[0].middleware[1].rate: "Inf" is not a number`,
			`f.yaml:9: routes[0].middleware[2].rate: "-infinity" is not a number`}},
		{"numbers too large to hold", `
listen: {max_header_bytes: 99999999999999999999, read_timeout: 9999999999h}
runtime: {gc_percent: -99999999999999999999}
pools:
  p:
    balancer: bounded
    load_factor: 1e999
    targets: [{url: "http://h:1", weight: 99999999999999999999}]
routes: [{pool: p}]
`, []string{
			`f.yaml:2: listen.max_header_bytes: "99999999999999999999" is a whole number too large to hold`,
			`f.yaml:2: listen.read_timeout: "9999999999h" is too long: the longest duration is 2562047h47m16.854775807s`,
			`f.yaml:3: runtime.gc_percent: "-99999999999999999999" is a whole number too small to hold`,
			`f.yaml:7: pools.p.load_factor: "1e999" is a number too large to hold`,
			`f.yaml:8: pools.p.targets[0].weight: "99999999999999999999" is a whole number too large to hold`}},
		{"whole numbers in plain digits: no + and no leading 0", `
runtime: {gc_percent: -050}
pools:
  p:
    balancer: chash
    replicas: +160
    targets: [{url: "http://h:1", weight: +5}, {url: "http://h:2", weight: 05}, {url: "http://h:3", weight: '010'}]
routes: [{pool: p}]
`, []string{
			`f.yaml:2: runtime.gc_percent: "-050" is not a whole number in plain digits: write -50 (no + and no leading 0, which a YAML 1.1 reader takes as octal)`,
			`f.yaml:6: pools.p.replicas: "+160" is not a whole number in plain digits: write 160 (no + and no leading 0, which a YAML 1.1 reader takes as octal)`,
			`f.yaml:7: pools.p.targets[0].weight: "+5" is not a whole number in plain digits: write 5 (no + and no leading 0, which a YAML 1.1 reader takes as octal)`,
			`f.yaml:7: pools.p.targets[1].weight: "05" is not a whole number in plain digits: write 5 (no + and no leading 0, which a YAML 1.1 reader takes as octal)`,
			`f.yaml:7: pools.p.targets[2].weight: "010" is not a whole number in plain digits: write 10 (no + and no leading 0, which a YAML 1.1 reader takes as octal)`}},
		{"a bad health path hides no other health mistake", `
pools:
  p: {targets: [http://h:1], health: {path: health, interval: -1s}}
  q: {targets: [http://h:1], health: {path: health, interval: 1s, timeout: 2s}}
routes: [{pool: p}]
`, []string{
			`f.yaml:3: pools.p.health.path: "health" does not start with /`,
			`f.yaml:3: pools.p.health.interval: want a positive duration, got -1s`,
			`f.yaml:4: pools.q.health.path: "health" does not start with /`,
			`f.yaml:4: pools.q.health.timeout: want a positive duration no longer than interval (1s), got 2s`}},
		{"bounds: the last value taken, the next refused", `
listen: {addr: "127.0.0.1:0", read_timeout: 0s, max_header_bytes: 1}
admin: {addr: "127.0.0.1:0"}
runtime: {gc_percent: 0, memory_limit_bytes: 16777216, procs_per_cpu: 8}
log: {buffer_bytes: 16777216, flush_interval: 1ms}
pools:
  in:
    targets: [{url: "http://h:1", weight: 256}, {url: "http://h:2", weight: 1}]
    health: {path: /health, interval: 100ms, timeout: 100ms, status: 100, rise: 1, fall: 1}
    retry: {tries: 1, timeout: 0s, max_body_bytes: 0}
    transport: {dial_timeout: 0s, response_header_timeout: 0s, max_idle_conns_per_host: 1}
    passive: {fail_timeout: 1ns}
  top: {targets: [http://h:1], health: {status: 599, interval: 1ms, timeout: 1ms}}
  out:
    targets: [http://h:1]
    health: {path: /health, interval: 99ms, status: 600}
  over:
    targets: [http://h:1]
    health: {interval: 1s, timeout: 1000000001ns, status: 99}
routes: [{pool: in}]
`, []string{
			`f.yaml:16: pools.out.health.interval: 99ms is too often: want at least 100ms`,
			`f.yaml:16: pools.out.health.status: 600 is not an HTTP status`,
			`f.yaml:19: pools.over.health.timeout: want a positive duration no longer than interval (1s), got 1.000000001s`,
			`f.yaml:19: pools.over.health.status: 99 is not an HTTP status`}},
		{"merge keys", `
pools:
  p: &p {targets: [http://h:1]}
  q:
    <<: *p
    balancer: swrr
routes: [{pool: p}]
`, []string{
			`f.yaml:5: pools.q.<<: merge keys (<<) are not supported: write the keys out, or alias a whole value (key: *name)`}},
		// What an alias repeats is reported at the alias, where it is
		// wrong, not at the anchor, where it may be right; while decoding,
		// in the checks after, and in a middleware's own check.
		{"a value right at its anchor, wrong at its alias", `
pools:
  p:
    balancer: &b roundrobin
    targets: [http://h:1]
  q:
    balancer: *b
    targets: [http://h:2]
    retry: {tries: *b}
routes: [{pool: p}]
`, []string{
			`f.yaml:9: pools.q.retry.tries: "roundrobin" is not a whole number (in what *b repeats from line 4)`}},
		{"a pool repeated by an alias", `
pools:
  p: &p
    targets: [ftp://h:1]
  q: *p
routes: [{pool: p}, {path: /q, pool: q}]
`, []string{
			`f.yaml:4: pools.p.targets[0].url: bad target URL "ftp://h:1": scheme "ftp"; want a URL that starts with http:// or https://`,
			`f.yaml:5: pools.q.targets[0].url: bad target URL "ftp://h:1": scheme "ftp"; want a URL that starts with http:// or https:// (in what *p repeats from line 3)`}},
		{"a middleware list repeated by an alias", `
pools: {p: {targets: [http://h:1]}}
routes:
  - path: /a
    pool: p
    middleware: &chain
      - {name: limit, rate: 0}
  - {path: /b, pool: p, middleware: *chain}
`, []string{
			`f.yaml:7: routes[0].middleware[0]: limit: rate: want above 0`,
			`f.yaml:8: routes[1].middleware[0]: limit: rate: want above 0 (in what *chain repeats from line 6)`}},
		{"duplicate keys", `
pools:
  p: {targets: [http://h:1]}
  p: {targets: [http://h:2]}
routes: [{pool: p, pool: q}]
`, []string{
			`f.yaml:4: pools.p: given twice (first on line 3)`,
			`f.yaml:5: routes[0].pool: given twice (first on line 5)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("f.yaml", []byte(tc.text), registry{})
			assert.Nil(t, cfg, "a configuration with errors must not be returned")
			var errs config.Errors
			require.ErrorAs(t, err, &errs)
			if diff := cmp.Diff(tc.want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

// The admin listener and the public one may not share a port where the
// second bind would fail: one address written two ways, or a wildcard
// (every address) beside any address. Port 0 picks a free port each time,
// and a name is not resolved.
func TestListenersThatCannotBothBind(t *testing.T) {
	for _, tc := range []struct {
		listen, admin string
		clash         bool
	}{
		{"0.0.0.0:8080", ":8080", true},
		{"127.0.0.1:8080", ":8080", true},
		{":8080", "127.0.0.1:8080", true},
		{"[::]:8080", "127.0.0.1:8080", true},
		{"127.0.0.1:8080", "[::]:8080", true},
		{"0.0.0.0:8080", "127.0.0.1:8080", true},
		{"[::1]:8080", "[0:0::1]:8080", true},
		{"Gateway.example:8080", "gateway.example:8080", true},
		{"localhost:8080", ":8080", true},
		{":0", "0.0.0.0:0", false},
		{"0.0.0.0:8080", "0.0.0.0:8081", false},
		{"127.0.0.1:8080", "127.0.0.2:8080", false},
		{"localhost:8080", "127.0.0.1:8080", false},
		{"a.example:8080", "b.example:8080", false},
		{"localhost:8080", "0.0.0.0:8080", false},
		{"0.0.0.0:8080", "[::1]:8080", false},
	} {
		text := fmt.Sprintf("listen: {addr: %q}\nadmin: {addr: %q}\npools: {p: {targets: [http://h:1]}}\nroutes: [{pool: p}]\n", tc.listen, tc.admin)
		_, err := config.Parse("f.yaml", []byte(text), registry{})
		if tc.clash {
			assert.ErrorContains(t, err, "f.yaml:2: admin.addr: ", "listen %s, admin %s", tc.listen, tc.admin)
		} else {
			assert.NoError(t, err, "listen %s, admin %s", tc.listen, tc.admin)
		}
	}
}

// listRegistry has one middleware, "allow", whose check finds fault with
// its list as a whole.
type listRegistry struct{}

type allowOptions struct {
	From []string `yaml:"from"`
}

func (o *allowOptions) Check() error {
	if slices.Contains(o.From, "") {
		return errors.New("from: an empty entry allows nothing")
	}
	return nil
}

func (listRegistry) Names() []string { return []string{"allow"} }
func (listRegistry) Options(name string) any {
	if name == "allow" {
		return &allowOptions{}
	}
	return nil
}

// A middleware's check that finds fault with a key one of whose entries
// did not decode (and so is empty) says nothing the decoding error did
// not; one about a key that decoded is a mistake of its own.
func TestACheckOfAKeyThatDidNotDecodeIsDropped(t *testing.T) {
	_, err := config.Parse("f.yaml", []byte(`
pools: {p: {targets: [http://h:1]}}
routes:
  - pool: p
    middleware:
      - {name: allow, from: [a, [b]]}
      - {name: allow, from: [a, ""], to: b}
`), listRegistry{})
	require.Error(t, err)
	want := []string{
		`f.yaml:6: routes[0].middleware[0].from[1]: want a single value, got a list`,
		`f.yaml:7: routes[0].middleware[1].to: unknown key "to" (known: from)`,
		`f.yaml:7: routes[0].middleware[1]: allow: from: an empty entry allows nothing`,
	}
	if diff := cmp.Diff(want, strings.Split(err.Error(), "\n")); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

// A health check's timeout left out (or written "timeout:" with no value)
// is half its interval, whatever the interval: a file that sets only
// interval: 500ms is valid. An explicit 0s is an error (see
// TestParseReportsEveryError), not the default.
func TestHealthTimeoutFollowsTheInterval(t *testing.T) {
	cfg, err := config.Parse("f.yaml", []byte(`
pools:
  p: {targets: [http://h:1], health: {path: /health, interval: 500ms}}
  q:
    targets: [http://h:2]
    health:
      path: /health
      timeout:
routes: [{pool: p}]
`), registry{})
	require.NoError(t, err)
	assert.Equal(t, 250*time.Millisecond, cfg.Pools["p"].Health.Timeout)
	assert.Equal(t, time.Second, cfg.Pools["q"].Health.Timeout, "no value is the default")

	_, err = config.Parse("f.yaml", []byte(`
pools: {p: {targets: [http://h:1], health: {interval: 50ms}}}
routes: [{pool: p}]
`), registry{})
	assert.NoError(t, err, "without a path there are no checks: their interval is not checked")
}

// A target is its scheme, host and port: a "/" or "?" after them is
// dropped, a "#" and more is an error. Kept, either ended the health
// check's URL (target and path joined) before its path, so a check of
// "http://h:1?" asked for "/" and a sick backend passed.
func TestATargetIsSchemeHostAndPortOnly(t *testing.T) {
	cfg, err := config.Parse("f.yaml", []byte(`
pools: {p: {targets: ["http://h:1/", "http://h:2?", "http://h:3/?", "http://h:4#"]}}
routes: [{pool: p}]
`), registry{})
	require.NoError(t, err)
	var got []string
	for _, tg := range cfg.Pools["p"].Targets {
		got = append(got, tg.URL.String())
	}
	if diff := cmp.Diff([]string{"http://h:1", "http://h:2", "http://h:3", "http://h:4"}, got); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}

	_, err = config.Parse("f.yaml", []byte(`
pools: {p: {targets: ["http://h:1#x"]}}
routes: [{pool: p}]
`), registry{})
	assert.ErrorContains(t, err, `pools.p.targets[0].url: "http://h:1#x" has a path, query or fragment`)
}

func TestLoadNamesTheFile(t *testing.T) {
	_, err := config.Load("testdata/no-such-file.yaml", registry{})
	assert.ErrorContains(t, err, "no-such-file.yaml")
	assert.ErrorIs(t, err, fs.ErrNotExist)

	path := filepath.Join(t.TempDir(), "gw.yaml")
	require.NoError(t, os.WriteFile(path, []byte(valid), 0o600))
	cfg, err := config.Load(path, registry{})
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:0", cfg.Listen.Addr)
}

// A file of aliases of aliases (a "billion laughs") is refused once its
// aliases repeat more than config.MaxAliasValues values, rather than
// expanded until the gateway runs out of memory. Here 250 routes alias one
// route that has one middleware 250 times: about 125,000 values from
// fewer than 2,000 bytes. A few aliases, as a real file uses them, are
// followed, up to MaxAliasValues values of them.
func TestAliasesThatMultiplyAreRefused(t *testing.T) {
	const k = 250
	text := "pools: {p: {targets: [http://h:1]}}\nroutes:\n" +
		"  - &r {pool: p, middleware: [&m {name: limit, rate: 5}" + strings.Repeat(", *m", k-1) + "]}\n" +
		strings.Repeat("  - *r\n", k-1)
	cfg, err := config.Parse("f.yaml", []byte(text), registry{})
	assert.Nil(t, cfg)
	var errs config.Errors
	require.ErrorAs(t, err, &errs)
	if diff := cmp.Diff([]string{
		`f.yaml:201: routes[198]: aliases (*name) repeat more than 100000 values: a file whose aliases multiply (a "billion laughs") is refused before it takes the gateway's memory`,
	}, strings.Split(err.Error(), "\n")); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}

	cfg, err = config.Parse("f.yaml", []byte(`
pools:
  a: &pool {targets: [http://h:1]}
  b: *pool
routes:
  - {path: /a, pool: a, middleware: &chain [plain, {name: limit, rate: 5}]}
  - {path: /b, pool: b, middleware: *chain}
`), registry{})
	require.NoError(t, err)
	assert.Equal(t, cfg.Routes[0].Middleware, cfg.Routes[1].Middleware)
	assert.Equal(t, cfg.Pools["a"].Targets, cfg.Pools["b"].Targets)

	// The bound: 1,000 aliases of a pool of 98 targets repeat 100,000
	// values (each alias, its targets key, its 98 targets), as many as
	// may be; the pool written out counts for nothing.
	var b strings.Builder
	b.WriteString("routes: [{pool: a}]\npools:\n  a: &a {targets: [http://h:1")
	for i := 2; i <= 98; i++ {
		fmt.Fprintf(&b, ", http://h:%d", i)
	}
	b.WriteString("]}\n")
	for i := 1; i <= config.MaxAliasValues/100; i++ {
		fmt.Fprintf(&b, "  p%d: *a\n", i)
	}
	cfg, err = config.Parse("f.yaml", []byte(b.String()), registry{})
	require.NoError(t, err, "MaxAliasValues values repeated")
	assert.Len(t, cfg.Pools, 1001)
}

// send_timeout is nginx's 60 s when the file leaves it out, 0 turns it
// off, and a negative one is an error on its line.
func TestSendTimeout(t *testing.T) {
	const rest = "pools: {p: {targets: [http://h:1]}}\nroutes: [{pool: p}]\n"
	cfg, err := config.Parse("f.yaml", []byte(rest), registry{})
	require.NoError(t, err)
	assert.Equal(t, 60*time.Second, cfg.Listen.SendTimeout, "default")

	cfg, err = config.Parse("f.yaml", []byte("listen: {send_timeout: 0s}\n"+rest), registry{})
	require.NoError(t, err)
	assert.Zero(t, cfg.Listen.SendTimeout, "0s: off")

	_, err = config.Parse("f.yaml", []byte(rest+"listen:\n  addr: 127.0.0.1:0\n  send_timeout: -1s\n"), registry{})
	require.Error(t, err)
	assert.Equal(t, "f.yaml:5: listen.send_timeout: negative duration -1s (0 turns it off)", err.Error())
}

// read_header_timeout, idle_timeout and max_header_bytes given as 0 are
// refused: net/http would not take 0 as "none" but replace it, the two
// timeouts with read_timeout and the size with its own default, 1 MiB, a
// limit the file does not show (the chapter's "Accepting what changes
// nothing"). Before, all three were accepted.
func TestListenLimitsNetHTTPWouldReplaceAreRefusedAt0(t *testing.T) {
	const rest = "pools: {p: {targets: [http://h:1]}}\nroutes: [{pool: p}]\n"
	_, err := config.Parse("f.yaml", []byte("listen: {read_header_timeout: 0s, idle_timeout: 0s, max_header_bytes: 0}\n"+rest), registry{})
	require.Error(t, err)
	assert.Equal(t, "f.yaml:1: listen.read_header_timeout: want a positive duration: net/http would replace 0 with read_timeout\n"+
		"f.yaml:1: listen.idle_timeout: want a positive duration: net/http would replace 0 with read_timeout\n"+
		"f.yaml:1: listen.max_header_bytes: want a positive size: net/http would replace 0 with its default, 1 MiB", err.Error())
}

// response_body_timeout is 60 s when the file leaves it out, and 0s, for
// backends that pause longer on purpose, is none: not the default.
func TestResponseBodyTimeoutZeroIsNone(t *testing.T) {
	const routes = "\nroutes: [{pool: p}]\n"
	cfg, err := config.Parse("f.yaml", []byte("pools: {p: {targets: [http://h:1]}}"+routes), registry{})
	require.NoError(t, err)
	assert.Equal(t, time.Minute, cfg.Pools["p"].Transport.ResponseBodyTimeout, "default")

	cfg, err = config.Parse("f.yaml", []byte("pools: {p: {targets: [http://h:1], transport: {response_body_timeout: 0s}}}"+routes), registry{})
	require.NoError(t, err)
	assert.Zero(t, cfg.Pools["p"].Transport.ResponseBodyTimeout, "0s: none")
}

func TestParseLogSection(t *testing.T) {
	for text, want := range map[string]config.Log{
		"log: {buffer_bytes: 65536, flush_interval: 250ms}": {BufferBytes: 65536, FlushInterval: 250 * time.Millisecond, Unrouted: true},
		"log: {buffer_bytes: 65536}":                        {BufferBytes: 65536, FlushInterval: time.Second, Unrouted: true},
		"log: {unrouted: false}":                            {FlushInterval: time.Second},
	} {
		cfg, err := config.Parse("f.yaml", []byte(text+"\npools: {p: {targets: [http://h:1]}}\nroutes: [{pool: p}]\n"), registry{})
		require.NoError(t, err, text)
		assert.Equal(t, want, cfg.Log, text)
	}
}

// A host whose %-escapes decode to bytes that are not UTF-8 names no
// backend, and would be the upstream label of every request's metrics,
// which must be UTF-8: the file is refused, with the line.
func TestParseRefusesATargetHostThatIsNotUTF8(t *testing.T) {
	_, err := config.Parse("f.yaml", []byte(`
pools: {p: {targets: ["http://a%ffb:1"]}}
routes: [{pool: p}]
`), registry{})
	assert.ErrorContains(t, err, `f.yaml:2: pools.p.targets[0].url: "http://a%ffb:1": its host is not UTF-8 once its %-escapes are decoded`)
}

// A boolean in quotes is read as one, as a number or a duration in quotes
// is: "true" was refused as "not true or false".
func TestABooleanInQuotesIsABoolean(t *testing.T) {
	cfg, err := config.Parse("f.yaml", []byte("pools: {p: {targets: [http://h:1]}}\nroutes:\n  - {pool: p, path: /a, strip_prefix: \"true\", preserve_host: 'False'}\n"), registry{})
	require.NoError(t, err)
	assert.True(t, cfg.Routes[0].StripPrefix)
	assert.False(t, cfg.Routes[0].PreserveHost)
	cfg, err = config.Parse("f.yaml", []byte("pools: {p: {targets: [http://h:1]}}\nroutes:\n  - {pool: p, path: /a, preserve_host: 'TRUE'}\n"), registry{})
	require.NoError(t, err)
	assert.True(t, cfg.Routes[0].PreserveHost)
}

// A number in quotes is read as a number, as a boolean or a duration in
// quotes is: the loader reads a scalar's text, whatever its quoting (a
// file generated by a template often quotes every value). Its checks do
// not loosen: a quoted word is still not a whole number.
func TestANumberInQuotesIsANumber(t *testing.T) {
	cfg, err := config.Parse("f.yaml", []byte("pools:\n  p:\n    balancer: chash\n    replicas: \"160\"\n    targets: [{url: http://h:1, weight: '2'}]\n    passive: {fail_timeout: \"10s\"}\nroutes: [{pool: p}]\n"), registry{})
	require.NoError(t, err)
	assert.Equal(t, 160, cfg.Pools["p"].Replicas)
	assert.Equal(t, 2, cfg.Pools["p"].Targets[0].Weight)
	assert.Equal(t, 10*time.Second, cfg.Pools["p"].Passive.FailTimeout)
	_, err = config.Parse("f.yaml", []byte("pools:\n  p:\n    balancer: chash\n    replicas: \"many\"\n    targets: [http://h:1]\nroutes: [{pool: p}]\n"), registry{})
	assert.EqualError(t, err, `f.yaml:4: pools.p.replicas: "many" is not a whole number`)
}
