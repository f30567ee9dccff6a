// Package config reads the gateway's configuration file: the listeners,
// the pools of backends with their balancer, health checks, transport and
// retries, and the routes that send requests to pools through a list of
// middleware.
//
// The file is YAML. It is decoded through yaml.Node rather than straight
// into structs so that every mistake, not just the first, is reported with
// the file, the line and the key path:
//
//	gateway.yaml:12: pools.api.balancer: unknown balancer "fastest" (known: bounded, chash, ...)
//
// A gateway that cannot read its file does not start, and a reload that
// cannot read it keeps the configuration it has: Load either returns a
// whole, checked Config or an Errors listing everything wrong.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Config is a checked configuration: every field has a value (defaults are
// filled in), every name refers to something that exists.
type Config struct {
	Listen Listener         `yaml:"listen"`
	Admin  Admin            `yaml:"admin"`
	Pools  map[string]*Pool `yaml:"pools"`
	Routes []Route          `yaml:"routes"`
	// Runtime tunes Go's garbage collector for the process.
	Runtime Runtime `yaml:"runtime"`
	// Log is how the program writes its log.
	Log Log `yaml:"log"`
}

// Log sets how the program writes its log (to stderr): an access line
// per request, and warnings and errors. Like listen and admin, it is read
// at start only.
type Log struct {
	// BufferBytes, if not 0, lets access lines wait in a buffer of this
	// size and writes them in batches: when it is full, every
	// FlushInterval, and when the program stops (nginx's access_log
	// buffer=). Each line written alone is a system call. A line that is
	// not an access line is written at once, after the ones waiting. A
	// process that dies without stopping loses what waits.
	BufferBytes int `yaml:"buffer_bytes"`
	// FlushInterval bounds how long an access line waits in the buffer
	// (nginx's flush=); DefaultLogFlushInterval if not set.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// Unrouted writes an access line, in the access-log layer's format,
	// for each request the gateway answers before any route's layers
	// run: 404 when no route matches, 400 for a target that is not a
	// path, a dot segment, a query that does not parse or an Upgrade
	// that names no protocol, 501 for CONNECT, TRACE and TRACK. No
	// route's access-log sees them, and a scan of ".." paths or a flood
	// of 404s is what an operator looks for in the log (nginx logs every
	// request). True unless the file says false.
	Unrouted bool `yaml:"unrouted"`
}

// DefaultLogFlushInterval is how long an access line may wait in the
// log's buffer unless the file says otherwise.
const DefaultLogFlushInterval = time.Second

// MinLogFlushInterval bounds log.flush_interval from below: the ticker
// that flushes the buffer wakes every interval, and at 1µs it kept a CPU
// busy doing so (at 1ms, about 4% of one).
const MinLogFlushInterval = time.Millisecond

// MaxLogBufferBytes bounds log.buffer_bytes.
const MaxLogBufferBytes = 16 << 20

// Runtime sets the Go runtime's knobs, as the GOGC, GOMEMLIMIT and
// GOMAXPROCS environment variables do (see runtime/debug and runtime): a
// gateway allocates a few kilobytes per request and keeps almost none of
// it, so with Go's defaults its collector runs many times a second; and it
// spends much of its time in system calls, during which the processor a
// goroutine ran on (a P, of which there are GOMAXPROCS) runs no other Go
// code. Zero leaves a knob as Go set it, and GOGC, GOMEMLIMIT or
// GOMAXPROCS in the environment win over the file: the operator has the
// last word.
type Runtime struct {
	// GCPercent is GOGC: the collector runs when the heap has grown by
	// this percentage since the last collection (Go's default is 100).
	GCPercent int `yaml:"gc_percent"`
	// MemoryLimitBytes is GOMEMLIMIT: a soft limit on the process's
	// memory, at which the collector runs whatever GCPercent says.
	MemoryLimitBytes int64 `yaml:"memory_limit_bytes"`
	// ProcsPerCPU sets GOMAXPROCS to this many times the number Go picks
	// by itself (the CPUs the process may use, or its CPU quota). More Ps
	// than CPUs let the runtime run other goroutines while threads are in
	// the kernel, at the price of the operating system sharing the CPUs
	// among more threads. At most MaxProcsPerCPU. The number is counted
	// when the configuration is loaded, and stays until the next reload:
	// setting GOMAXPROCS turns off Go's own updates of it, so a CPU quota
	// changed while the gateway runs is followed only without this knob.
	ProcsPerCPU int `yaml:"procs_per_cpu"`
}

// MaxProcsPerCPU bounds runtime.procs_per_cpu: past a few, more Ps only
// add threads for the operating system to share the CPUs between.
const MaxProcsPerCPU = 8

// Listener is the gateway's public HTTP server and its limits. Every
// timeout bounds what one slow or hostile client can hold.
type Listener struct {
	Addr string `yaml:"addr"`
	// ReadHeaderTimeout bounds the time to read a request's headers: the
	// defence against clients that send them a byte at a time (slowloris).
	// 0 is refused: net/http would use ReadTimeout instead.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request, body included.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds writing a response. It also cuts off streams and
	// server-sent events, so it is off (0) unless set.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// SendTimeout bounds each write of a response to the client, not the
	// whole response: a client that stops reading is let go, one that
	// reads slowly is not (nginx's send_timeout). 0 turns it off.
	SendTimeout time.Duration `yaml:"send_timeout"`
	// IdleTimeout bounds how long a keep-alive connection waits for its
	// next request. 0 is refused: net/http would use ReadTimeout instead.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxHeaderBytes bounds the size of a request's headers. 0 is
	// refused: net/http would use its default, 1 MiB.
	MaxHeaderBytes int `yaml:"max_header_bytes"`
}

// Admin is the separate listener for operators: pool health, metrics and
// reload. It is off when Addr is empty.
type Admin struct {
	Addr string `yaml:"addr"`
	// Token must be sent as "Authorization: Bearer TOKEN" to reload. With
	// no token, reload over HTTP is refused (SIGHUP still works).
	Token string `yaml:"token"`
}

// Pool is a set of interchangeable backends behind one balancer.
type Pool struct {
	Name     string   `yaml:"-"` // its key under pools
	Targets  []Target `yaml:"targets"`
	Balancer string   `yaml:"balancer"`
	// Key is what hash balancers hash: ip, path, header:NAME, cookie:NAME.
	Key        string  `yaml:"key"`
	Replicas   int     `yaml:"replicas"`    // virtual nodes per weight (chash, bounded), up to balancer.MaxReplicas
	LoadFactor float64 `yaml:"load_factor"` // bounded's c
	TableSize  int     `yaml:"table_size"`  // maglev's table size, a prime up to balancer.MaxTableSize

	Passive   Passive   `yaml:"passive"`
	Health    Health    `yaml:"health"`
	Transport Transport `yaml:"transport"`
	Retry     Retry     `yaml:"retry"`
}

// Target is one backend. In the file it is either a bare URL or a mapping
// with url and weight.
type Target struct {
	URL    *url.URL `yaml:"-"`   // Raw, checked: scheme://host:port and nothing more
	Raw    string   `yaml:"url"` // as the file has it
	Weight int      `yaml:"weight"`
}

// Passive is health tracking from real requests, as nginx's max_fails and
// fail_timeout (see balancer.Health), with their meanings: MaxFails
// failures within FailTimeout take a backend out for FailTimeout;
// MaxFails is 1 unless the file says, and 0 turns tracking off;
// FailTimeout is 10 s unless the file says, and 0 is refused.
type Passive struct {
	MaxFails    int           `yaml:"max_fails"`
	FailTimeout time.Duration `yaml:"fail_timeout"`
}

// Health is an active health check, as HAProxy's: every Interval the
// gateway asks each backend for Path; a backend that fails Fall checks in
// a row is taken out of the balancer, and one that then passes Rise in a
// row is put back. Checks are off when Path is empty. Timeout bounds one
// check: positive, no longer than Interval, and half Interval when the
// file leaves it out.
type Health struct {
	Path     string        `yaml:"path"`
	Interval time.Duration `yaml:"interval"`
	Timeout  time.Duration `yaml:"timeout"`
	Status   int           `yaml:"status"` // the status a healthy backend answers
	Rise     int           `yaml:"rise"`
	Fall     int           `yaml:"fall"`
}

// Transport tunes the pool's connections to its backends: those of
// package direct and of the http.Transport behind it alike.
type Transport struct {
	DialTimeout           time.Duration `yaml:"dial_timeout"`
	ResponseHeaderTimeout time.Duration `yaml:"response_header_timeout"`
	ResponseBodyTimeout   time.Duration `yaml:"response_body_timeout"`
	MaxIdleConnsPerHost   int           `yaml:"max_idle_conns_per_host"`
}

// Retry bounds how a failed request is tried again on another backend.
type Retry struct {
	// Tries counts every attempt, the first included: 1 turns retries off.
	Tries int `yaml:"tries"`
	// Timeout bounds the time from the first attempt after which no new
	// one starts; 0 means no limit but Tries (as nginx's
	// proxy_next_upstream_timeout 0).
	Timeout time.Duration `yaml:"timeout"`
	// MaxBodyBytes is the largest request body kept in memory so that it
	// can be sent again. A larger body, or one of unknown length, is
	// streamed, and retried only if no byte of it was read (the backend
	// could not be reached).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

// Route sends matching requests to a pool through its middleware.
type Route struct {
	// Name labels the route in logs and metrics; it defaults to host+path.
	Name string `yaml:"name"`
	// Host is the request's host name without port: an exact name
	// (api.example.com), a wildcard (*.example.com), an IPv4 address or
	// empty (any host). See hostProblem for what a name may be.
	Host string `yaml:"host"`
	// Path is a path prefix matched at a segment boundary: /api matches
	// /api and /api/users, not /apiary.
	Path string `yaml:"path"`
	// StripPrefix removes Path from the request's path before forwarding.
	StripPrefix bool `yaml:"strip_prefix"`
	// PreserveHost sends the client's Host header instead of the backend's.
	PreserveHost bool         `yaml:"preserve_host"`
	Pool         string       `yaml:"pool"`
	Middleware   []Middleware `yaml:"middleware"`

	Line int `yaml:"-"` // where the route starts in the file
}

// Middleware is one layer of a route's onion: a registered name and its
// decoded options (the value the Registry's Options returned, filled in).
type Middleware struct {
	Name    string
	Options any
}

// Registry says which middleware names a file may use and what options
// each takes. The gateway's registry implements it.
type Registry interface {
	// Names returns every middleware name, sorted.
	Names() []string
	// Options returns a pointer to a new options struct for middleware
	// name, holding its defaults, or nil for an unknown name. The file's
	// keys are decoded into it; if it has a Check() error method, that is
	// called after decoding, even when some keys did not decode (an error
	// that only follows from those is dropped). An error that joins
	// several (errors.Join) is reported as several, one per mistake, each
	// at the line of the key it names ("key: ..."), if the file gave it.
	Options(name string) any
}

// Load reads and checks the file at path.
func Load(path string, reg Registry) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(filepath.Base(path), data, reg)
}

// Parse checks data, the contents of a file called name (used in errors).
// The error is an Errors listing every problem found.
func Parse(name string, data []byte, reg Registry) (*Config, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		return nil, syntaxError(name, data, err)
	}
	if err := oneDocument(name, data, dec); err != nil {
		return nil, err
	}
	d := &decoder{file: name, lines: map[string]int{}, via: map[string]*yaml.Node{}, given: map[string]bool{}, strayLists: map[string]bool{}, reg: reg}
	cfg := &Config{}
	cfg.Listen.setDefaults() // for a file without a listen section
	cfg.Log.FlushInterval = DefaultLogFlushInterval
	cfg.Log.Unrouted = true
	if len(root.Content) == 1 {
		d.decode("", root.Content[0], reflect.ValueOf(cfg).Elem())
	}
	if d.tooBig {
		return nil, d.errs // what it decoded is not the file: nothing to check
	}
	for name, p := range cfg.Pools {
		p.Name = name
	}
	d.check(cfg)
	if len(d.errs) > 0 {
		d.sort()
		return nil, d.errs
	}
	return cfg, nil
}

// oneDocument reports a second document after the first (a "---" line
// and more YAML after it): the gateway reads one, and without this would
// ignore the rest of the file without a word.
func oneDocument(name string, data []byte, dec *yaml.Decoder) error {
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return syntaxError(name, data, err)
	}
	return Errors{{File: name, Line: next.Line, Msg: "a second YAML document (after ---): the configuration is one document, and the rest would be ignored"}}
}

// invalidUTF8 returns the offset of the first byte of data that is not
// UTF-8, or -1.
func invalidUTF8(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}

// notAllowed returns the offset of the first character of data, read as
// UTF-8, that YAML does not allow in a file (a control character other
// than tab, newline and carriage return; a noncharacter U+FFFE or
// U+FFFF), or -1.
func notAllowed(data []byte) int {
	for i, r := range string(data) {
		switch {
		case r == '\t' || r == '\n' || r == '\r' || r == 0x85:
		case r < 0x20 || r >= 0x7f && r < 0xa0 || r == 0xfffe || r == 0xffff:
			return i
		}
	}
	return -1
}

// syntaxError turns the yaml package's "yaml: line 3: ..." into an Error.
func syntaxError(name string, data []byte, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return Errors{{File: name, Msg: te.Error()}}
	}
	var line int
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if n, _ := fmt.Sscanf(msg, "line %d:", &line); n == 1 {
		_, msg, _ = strings.Cut(msg, ": ")
	}
	if parserProblems[msg] {
		// The yaml package gives these the line of their mark counted
		// from 0 (a scanner's mistake it counts from 1), and none at all
		// on the first line.
		line++
	}
	if tabMistakes[msg] {
		if n := tabIndented(data, line); n > 0 {
			// The yaml package's words for a tab name no tab, and its line
			// for "violates indentation" is the one before the tab's.
			return Errors{{File: name, Line: n, Msg: "not valid YAML: a tab in this line's indentation: YAML indents with spaces only"}}
		}
	}
	if rest, ok := strings.CutPrefix(msg, "unknown anchor '"); ok && line == 0 {
		// The yaml package gives no line for an alias of no anchor.
		anchor, _ := strings.CutSuffix(rest, "' referenced")
		if n := aliasLine(data, anchor); n > 0 {
			return Errors{{File: name, Line: n, Msg: fmt.Sprintf("not valid YAML: *%s names no anchor: an alias needs an anchor (&%s) earlier in the file", anchor, anchor)}}
		}
	}
	if line > 0 {
		return Errors{{File: name, Line: line, Msg: "not valid YAML: " + msg}}
	}
	if err.Error() == "EOF" {
		return Errors{{File: name, Msg: "the file is empty"}}
	}
	if i := notAllowed(data); i >= 0 && strings.Contains(err.Error(), "control characters") { // no line either
		r, _ := utf8.DecodeRune(data[i:])
		line := 1 + bytes.Count(data[:i], []byte("\n"))
		return Errors{{File: name, Line: line, Msg: fmt.Sprintf("not valid YAML: character %U is not allowed in YAML (of the control characters, it takes only tab and line breaks)", r)}}
	}
	if i := invalidUTF8(data); i >= 0 && strings.Contains(err.Error(), "UTF-8") { // the yaml package gives no line
		line := 1 + bytes.Count(data[:i], []byte("\n"))
		return Errors{{File: name, Line: line, Msg: fmt.Sprintf("not valid YAML: byte %#x is not UTF-8 (is the file saved in another encoding, such as Latin-1?)", data[i])}}
	}
	return Errors{{File: name, Msg: "not valid YAML: " + msg}}
}

// tabMistakes are the yaml package's words for a tab where YAML wants
// spaces, as go.yaml.in/yaml/v3's scannerc.go words them.
var tabMistakes = map[string]bool{
	"found character that cannot start any token":     true,
	"found a tab character that violates indentation": true,
}

// tabIndented returns the line, of near and the lines just after and
// before it, whose indentation has a tab, or 0.
func tabIndented(data []byte, near int) int {
	lines := strings.Split(string(data), "\n")
	for _, n := range []int{near, near + 1, near - 1} {
		if n < 1 || n > len(lines) {
			continue
		}
		line := lines[n-1]
		indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
		if strings.Contains(indent, "\t") {
			return n
		}
	}
	return 0
}

// aliasLine returns the line of the first alias *name in data, outside
// comments and quotes, or 0.
func aliasLine(data []byte, name string) int {
	alias := "*" + name
	for i, line := range strings.Split(string(data), "\n") {
		for at := 0; ; {
			j := strings.Index(line[at:], alias)
			if j < 0 {
				break
			}
			j += at
			end := j + len(alias)
			before := j == 0 || strings.ContainsRune(" \t[{,:-", rune(line[j-1]))
			after := end == len(line) || strings.ContainsRune(" \t]},\r", rune(line[end]))
			if strings.Contains(line[:j], "#") || strings.Count(line[:j], `"`)%2 == 1 || strings.Count(line[:j], "'")%2 == 1 {
				break // in a comment or a quoted string, as is the rest of the line
			}
			if before && after {
				return i + 1
			}
			at = end
		}
	}
	return 0
}

// parserProblems are the mistakes the yaml package's parser reports (the
// rest are its scanner's), as go.yaml.in/yaml/v3's parserc.go words them.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"did not find expected node content":     true,
	"did not find expected key":              true,
	"did not find expected '-' indicator":    true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
	"found undefined tag handle":             true,
}
