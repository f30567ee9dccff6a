package config

import (
	"cmp"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/gocourse/gateway/02-single-proxy/proxy"
	"github.com/gocourse/gateway/05-balancers/balancer"
	"github.com/gocourse/gateway/05-balancers/ring"
	"github.com/gocourse/gateway/06-middleware/middleware"
)

// Defaults for what a file leaves out. Health-check counts and interval
// are HAProxy's (inter 2s, rise 2, fall 3).
const (
	DefaultAddr           = "127.0.0.1:8080"
	DefaultBalancer       = "roundrobin"
	DefaultHealthInterval = 2 * time.Second
	DefaultRise           = 2
	DefaultFall           = 3
	DefaultTries          = 3
	// DefaultMaxFails is nginx's max_fails default: one failure within
	// fail_timeout takes a backend out. 0 in a file turns passive health
	// off, as in nginx.
	DefaultMaxFails = 1
	// DefaultFailTimeout is nginx's fail_timeout default: the window in
	// which max_fails failures take a backend out, and how long it stays
	// out. Set here, not left to the balancer (whose 0 means 10 s), so
	// that a 0 written in a file is refused rather than read as 10 s.
	DefaultFailTimeout  = 10 * time.Second
	DefaultRetryTimeout = 5 * time.Second
	// DefaultResponseHeaderTimeout bounds the wait for a backend's answer
	// once the request is sent, as nginx's proxy_read_timeout (60 s) does:
	// without it a backend that accepts and never answers holds the request
	// until the client gives up, and is never a 504. 0 in a file means none.
	DefaultResponseHeaderTimeout = 60 * time.Second
	// DefaultResponseBodyTimeout bounds each pause of a backend in the
	// middle of a response's body: the rest of what nginx's
	// proxy_read_timeout (60 s) bounds. Without it a backend that sends
	// its header and stops holds the request until the client gives up.
	// 0 in a file means none.
	DefaultResponseBodyTimeout = 60 * time.Second
	// DefaultSendTimeout bounds the wait of one write of a response to the
	// client, as nginx's send_timeout (60 s) does: without it a client that
	// stops reading holds its connection, a handler and an upstream
	// connection for ever. 0 in a file means none.
	DefaultSendTimeout = 60 * time.Second
	// MinHealthInterval is the shortest health.interval accepted.
	MinHealthInterval   = 100 * time.Millisecond
	DefaultMaxBodyBytes = 64 << 10
)

// setDefaults sets the listener's defaults, before decoding.
func (l *Listener) setDefaults() {
	*l = Listener{
		Addr:              DefaultAddr,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       time.Minute,
		SendTimeout:       DefaultSendTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// setDefaults sets a pool's defaults, before decoding.
func (p *Pool) setDefaults() {
	*p = Pool{
		Balancer: DefaultBalancer,
		Health: Health{
			Interval: DefaultHealthInterval, // Timeout: half the interval, unless set
			Status:   http.StatusOK, Rise: DefaultRise, Fall: DefaultFall,
		},
		Transport: Transport{
			DialTimeout: 2 * time.Second, MaxIdleConnsPerHost: 256,
			ResponseHeaderTimeout: DefaultResponseHeaderTimeout, ResponseBodyTimeout: DefaultResponseBodyTimeout,
		},
		Retry:   Retry{Tries: DefaultTries, Timeout: DefaultRetryTimeout, MaxBodyBytes: DefaultMaxBodyBytes},
		Passive: Passive{MaxFails: DefaultMaxFails, FailTimeout: DefaultFailTimeout},
	}
}

// line returns the line of path, or of the nearest enclosing path the file
// has.
func (d *decoder) line(path string) int {
	line, _ := d.noted(path)
	return line
}

// noted returns the line noted for path, or for the nearest key above it
// that has one, and the alias its value was decoded through, if any.
func (d *decoder) noted(path string) (int, *yaml.Node) {
	for {
		if l, ok := d.lines[path]; ok {
			return l, d.via[path]
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return 0, nil
		}
		path = path[:i]
	}
}

// reported reports whether decoding found a mistake at path itself, or in
// the file's top level (a list, not a mapping): then path is empty
// because of it, and "no pools" beside "pools: want a mapping" would
// report one mistake twice, the second word of it the first in the list,
// since an error without a line sorts first.
func (d *decoder) reported(path string) bool {
	return slices.ContainsFunc(d.errs, func(e Error) bool { return e.Path == path || e.Path == "" })
}

// targetsMistaken reports whether decoding found the mistake that left
// pool path with no targets: the pool or its targets of the wrong shape,
// a merge key (<<) that was to bring them, or an unknown key holding a
// list, which of a pool's keys only targets does (targts:, or another
// gateway's word, servers:). "no targets" beside it would report one
// mistake twice, the second time as if the targets had been left out.
// An unknown key that holds no list (helth:) is another mistake: a pool
// with it and no targets has both said.
func (d *decoder) targetsMistaken(path string) bool {
	return slices.ContainsFunc(d.errs, func(e Error) bool {
		key, inPool := strings.CutPrefix(e.Path, path+".")
		return e.Path == path || inPool && (key == "targets" || key == "<<" || d.strayLists[e.Path] && !strings.ContainsAny(key, ".["))
	})
}

func (d *decoder) fail(path, format string, args ...any) {
	line, alias := d.noted(path)
	msg := fmt.Sprintf(format, args...)
	if alias != nil {
		msg += repeats(alias)
	}
	d.errs = append(d.errs, Error{File: d.file, Line: line, Path: path, Msg: msg})
}

func (d *decoder) sort() {
	slices.SortStableFunc(d.errs, func(a, b Error) int { return cmp.Compare(a.Line, b.Line) })
}

var poolName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// check finds what decoding cannot: bad values, and names that refer to
// nothing.
func (d *decoder) check(c *Config) {
	if !hostPort(c.Listen.Addr) {
		d.fail("listen.addr", "%q is not host:port with a port from 0 to 65535, such as 127.0.0.1:8080", c.Listen.Addr)
	}
	if c.Admin.Addr != "" {
		switch {
		case !hostPort(c.Admin.Addr):
			d.fail("admin.addr", "%q is not host:port with a port from 0 to 65535, such as 127.0.0.1:9090", c.Admin.Addr)
		case c.Admin.Addr == c.Listen.Addr && !strings.HasSuffix(c.Admin.Addr, ":0"):
			d.fail("admin.addr", "%q is listen.addr too: the admin listener needs an address of its own", c.Admin.Addr)
		default:
			if why := sharedAddr(c.Admin.Addr, c.Listen.Addr); why != "" {
				d.fail("admin.addr", "%q and listen.addr %q %s: the admin listener needs an address of its own", c.Admin.Addr, c.Listen.Addr, why)
			}
		}
	}
	for _, l := range []struct {
		path string
		v    time.Duration
	}{{"listen.read_header_timeout", c.Listen.ReadHeaderTimeout}, {"listen.read_timeout", c.Listen.ReadTimeout},
		{"listen.write_timeout", c.Listen.WriteTimeout}, {"listen.idle_timeout", c.Listen.IdleTimeout}} {
		d.notNegative(l.path, l.v, "")
	}
	d.notNegative("listen.send_timeout", c.Listen.SendTimeout, " (0 turns it off)")
	// Their defaults are not 0, so a 0 was written in the file; and it
	// would not mean "none": net/http replaces it.
	for _, l := range []struct {
		path string
		v    time.Duration
	}{{"listen.read_header_timeout", c.Listen.ReadHeaderTimeout}, {"listen.idle_timeout", c.Listen.IdleTimeout}} {
		if l.v == 0 {
			d.fail(l.path, "want a positive duration: net/http would replace 0 with read_timeout")
		}
	}
	switch {
	case c.Listen.MaxHeaderBytes < 0:
		d.fail("listen.max_header_bytes", "negative size %d", c.Listen.MaxHeaderBytes)
	case c.Listen.MaxHeaderBytes == 0:
		d.fail("listen.max_header_bytes", "want a positive size: net/http would replace 0 with its default, 1 MiB")
	}
	if c.Runtime.GCPercent < 0 {
		d.fail("runtime.gc_percent", "negative percentage %d (0 leaves Go's setting; the file cannot turn the collector off, GOGC=off in the environment does)", c.Runtime.GCPercent)
	}
	if k := c.Runtime.ProcsPerCPU; k < 0 || k > MaxProcsPerCPU {
		d.fail("runtime.procs_per_cpu", "%d is not a multiple of the CPUs to use: want 1 to %d (0 leaves Go's setting, one per CPU)", k, MaxProcsPerCPU)
	}
	if l := c.Runtime.MemoryLimitBytes; l < 0 || (l > 0 && l < 16<<20) {
		d.fail("runtime.memory_limit_bytes", "%d is not a memory limit: want 0 (none) or at least 16777216 (16 MiB)", l)
	}
	if b := c.Log.BufferBytes; b < 0 || b > MaxLogBufferBytes {
		d.fail("log.buffer_bytes", "%d is not a buffer size: want 0 (each line written at once) to %d (16 MiB)", b, MaxLogBufferBytes)
	}
	if c.Log.FlushInterval < MinLogFlushInterval {
		d.fail("log.flush_interval", "%v is not an interval: want %v or more, such as 1s (a shorter one keeps a CPU busy flushing; 0 would let lines wait for ever)", c.Log.FlushInterval, MinLogFlushInterval)
	}
	if len(c.Pools) == 0 && !d.reported("pools") {
		d.fail("pools", "no pools: define at least one pool of backends")
	}
	for _, name := range slices.Sorted(maps.Keys(c.Pools)) {
		d.checkPool("pools."+name, c.Pools[name])
	}
	if len(c.Routes) == 0 && !d.reported("routes") {
		d.fail("routes", "no routes: define at least one route to a pool")
	}
	seen := map[[2]string]int{}
	for i := range c.Routes {
		path := fmt.Sprintf("routes[%d]", i)
		r := &c.Routes[i]
		r.Line = d.line(path)
		d.checkRoute(path, r, c.Pools)
		key := [2]string{strings.ToLower(r.Host), r.Path}
		if first, dup := seen[key]; dup {
			d.fail(path, "duplicate route: host %q path %q is already routes[%d] (line %d)", r.Host, r.Path, first, c.Routes[first].Line)
		} else {
			seen[key] = i
		}
	}
}

func (d *decoder) checkPool(path string, p *Pool) {
	if !poolName.MatchString(p.Name) {
		d.fail(path, "pool name %q: use letters, digits, - and _", p.Name)
	}
	if len(p.Targets) == 0 && !d.targetsMistaken(path) {
		d.fail(path+".targets", "no targets: a pool needs at least one backend URL")
	}
	seen := map[string]int{}
	for i := range p.Targets {
		t := &p.Targets[i]
		tpath := fmt.Sprintf("%s.targets[%d]", path, i)
		u, err := proxy.ParseTarget(t.Raw)
		msg, placeholder := unreplaced(t.Raw)
		switch {
		case placeholder:
			d.fail(tpath+".url", "%s", msg)
		case err != nil:
			d.fail(tpath+".url", "%v", err)
		case u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "":
			d.fail(tpath+".url", "%q has a path, query or fragment; a target is scheme://host:port only (use a route's strip_prefix to change paths)", t.Raw)
		case !utf8.ValidString(u.Host):
			// No backend is called that, and the host is the upstream
			// label of the requests' metrics, which must be UTF-8.
			d.fail(tpath+".url", "%q: its host is not UTF-8 once its %%-escapes are decoded", t.Raw)
		default:
			// "http://h:1/" and "http://h:1?" name the backend alone. Kept,
			// the "?" (or a "#x") would end the health check's URL, target
			// and path joined, before its path: "http://h:1?/health"
			// asks for "/", and a sick backend passes.
			u.Path, u.ForceQuery = "", false
			t.URL = u
			key := backend(u)
			if first, dup := seen[key]; dup {
				d.fail(tpath+".url", "%s is already targets[%d]%s", u.Host, first, sameAs(u.Host, p.Targets[first].URL.Host))
			} else {
				seen[key] = i
			}
		}
		if t.Weight < 1 || t.Weight > balancer.MaxWeight {
			d.fail(tpath+".weight", "weight %d: want 1 to %d", t.Weight, balancer.MaxWeight)
		}
	}
	if !slices.Contains(balancer.Names(), p.Balancer) {
		d.fail(path+".balancer", "unknown balancer %q (known: %s)", p.Balancer, strings.Join(balancer.Names(), ", "))
	} else if d.checkBalancerOptions(path, p) && p.Passive.FailTimeout >= 0 {
		// A negative fail_timeout, which balancer.New refuses too, is
		// told once, at its own line (below).
		if _, err := balancer.New(p.Balancer, p.BalancerOptions()); err != nil {
			d.fail(path+".balancer", "%v", err) // none today: a net for an option balancerOptions lacks
		}
	}
	if _, err := balancer.ParseKey(p.Key); err != nil {
		d.fail(path+".key", "%v", err)
	}
	if !d.given[path+".health.timeout"] {
		p.Health.Timeout = p.Health.Interval / 2 // 0s given is not "left out": it is checked below
	}
	h := p.Health
	if h.Path != "" && !strings.HasPrefix(h.Path, "/") {
		d.fail(path+".health.path", "%q does not start with /", h.Path)
	}
	switch { // each case assumes the ones before it passed
	case h.Interval <= 0:
		d.fail(path+".health.interval", "want a positive duration, got %v", h.Interval)
	case h.Path != "" && h.Interval < MinHealthInterval: // no path: no checks to pace
		d.fail(path+".health.interval", "%v is too often: want at least %v", h.Interval, MinHealthInterval)
	case h.Timeout <= 0:
		d.fail(path+".health.timeout", "want a positive duration, got %v: leave timeout out for the default, half the interval (%v)", h.Timeout, h.Interval/2)
	case h.Timeout > h.Interval:
		d.fail(path+".health.timeout", "want a positive duration no longer than interval (%v), got %v", h.Interval, h.Timeout)
	}
	if h.Status < 100 || h.Status > 599 {
		d.fail(path+".health.status", "%d is not an HTTP status", h.Status)
	}
	if h.Rise < 1 {
		d.fail(path+".health.rise", "want 1 or more, got %d", h.Rise)
	}
	if h.Fall < 1 {
		d.fail(path+".health.fall", "want 1 or more, got %d", h.Fall)
	}
	if p.Retry.Tries < 1 {
		d.fail(path+".retry.tries", "want 1 or more (1 means no retries), got %d", p.Retry.Tries)
	}
	d.notNegative(path+".retry.timeout", p.Retry.Timeout, " (0 means no limit but tries)")
	d.notNegative(path+".transport.dial_timeout", p.Transport.DialTimeout, " (0 means the system's limit)")
	d.notNegative(path+".transport.response_header_timeout", p.Transport.ResponseHeaderTimeout, " (0 means none)")
	d.notNegative(path+".transport.response_body_timeout", p.Transport.ResponseBodyTimeout, " (0 means none)")
	if n := p.Transport.MaxIdleConnsPerHost; n < 1 {
		d.fail(path+".transport.max_idle_conns_per_host", "want 1 or more, got %d", n)
	}
	if p.Passive.MaxFails < 0 {
		d.fail(path+".passive.max_fails", "want 0 or more (0 turns passive health off, as nginx's max_fails=0), got %d", p.Passive.MaxFails)
	}
	if p.Passive.FailTimeout <= 0 {
		// The balancer would take 0 for its default, 10 s: the file would
		// say one thing and the gateway do another.
		d.fail(path+".passive.fail_timeout", "want a positive duration, got %v: leave fail_timeout out for the default, %v", p.Passive.FailTimeout, DefaultFailTimeout)
	}
	if p.Retry.MaxBodyBytes < 0 {
		d.fail(path+".retry.max_body_bytes", "negative size %d", p.Retry.MaxBodyBytes)
	}
}

// balancerOptions are the pool keys that only some balancers read, those
// balancers, and the option alone as balancer.Options. One set for another
// balancer changes nothing, and whoever wrote it believes it does: it is an
// error.
var balancerOptions = []struct {
	key    string
	takers []string // sorted
	alone  func(p *Pool) balancer.Options
	// zero, for an option whose 0 stage 05 takes as "the default": the
	// default, for the message. Given as 0 in a file, it is an error,
	// as health.timeout's 0s is: a 0 written down is meant as a number.
	zero string
}{
	{"replicas", []string{"bounded", "chash"}, func(p *Pool) balancer.Options { return balancer.Options{Replicas: p.Replicas} }, fmt.Sprint(ring.DefaultReplicas)},
	{"load_factor", []string{"bounded"}, func(p *Pool) balancer.Options { return balancer.Options{LoadFactor: p.LoadFactor} }, fmt.Sprint(balancer.DefaultLoadFactor)},
	{"table_size", []string{"maglev"}, func(p *Pool) balancer.Options { return balancer.Options{TableSize: p.TableSize} }, fmt.Sprint(balancer.DefaultTableSize)},
	// key has no range here (its spelling is ParseKey's, checked below):
	// only the balancers that hash a request read it.
	{"key", []string{"bounded", "chash", "maglev"}, func(*Pool) balancer.Options { return balancer.Options{} }, ""},
}

// checkBalancerOptions reports each balancer option the file gives to
// pool p (whose balancer is a known one) that the balancer does not read
// or that is out of range, at the option's own key and line. The range is
// the balancer's own check: it is given the option alone, so that each
// option's mistake is reported, not just the first. It returns true if
// nothing was wrong.
func (d *decoder) checkBalancerOptions(path string, p *Pool) bool {
	before := len(d.errs)
	name := p.Balancer
	if !d.given[path+".balancer"] {
		name += " (the default balancer)"
	}
	for _, o := range balancerOptions {
		opath := path + "." + o.key
		switch {
		case !d.given[opath]:
		case !slices.Contains(o.takers, p.Balancer):
			d.fail(opath, "%s does not use %s; it is an option of %s", name, o.key, andList(o.takers))
		case o.zero != "" && isZero(o.alone(p)):
			d.fail(opath, "want a positive number, got 0: leave %s out for the default, %s", o.key, o.zero)
		default:
			if _, err := balancer.New(p.Balancer, o.alone(p)); err != nil {
				d.fail(opath, "%v", err)
			}
		}
	}
	return len(d.errs) == before
}

// isZero reports whether none of the options balancerOptions fills is set.
func isZero(o balancer.Options) bool { return o.Replicas == 0 && o.LoadFactor == 0 && o.TableSize == 0 }

// andList writes names as a sentence does: "a", "a and b", "a, b and c".
func andList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// notNegative reports a negative duration at path; zero, if not empty,
// says what 0 means there.
func (d *decoder) notNegative(path string, v time.Duration, zero string) {
	if v < 0 {
		d.fail(path, "negative duration %v%s", v, zero)
	}
}

// backend is the host and port u names, however it is spelt: a host name
// in any case, an IP address in any of its forms, a port left out (the
// scheme's). Two targets that name one backend would give it their
// weights' sum and be checked twice as one.
func backend(u *url.URL) string {
	host := strings.ToLower(u.Hostname())
	if a, err := netip.ParseAddr(host); err == nil {
		host = a.String()
	}
	port, _ := strconv.Atoi(u.Port()) // ParseTarget checked it
	if u.Port() == "" {
		port = map[string]int{"http": 80, "https": 443}[u.Scheme]
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// sameAs says, when a duplicate target is spelt otherwise than the first,
// why the two are one backend.
func sameAs(host, first string) string {
	if host == first {
		return ""
	}
	return fmt.Sprintf(" (%s: the same host and port)", first)
}

// hostPort reports whether addr is host:port with a numeric port (a
// service name such as "http" is not taken: a typo in one would only
// show when the gateway starts).
func hostPort(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	_, err = strconv.ParseUint(port, 10, 16)
	return err == nil
}

// Clash says why a program could not listen on both a and b (host:port
// addresses, as listen.addr and admin.addr), or returns "": they are one
// address (port 0 excepted: it picks a free port each time), or they share
// a port as sharedAddr says. The loader checks the file's two addresses;
// a program whose flags replace them checks what it will listen on.
func Clash(a, b string) string {
	if a == b && !strings.HasSuffix(a, ":0") {
		return "are one address"
	}
	return sharedAddr(a, b)
}

// sharedAddr says why listening on a and on b (both host:port with a
// numeric port, and not equal) would fail at the second bind, or returns
// "". They would if the ports are one (not 0, which picks a free port
// each time) and the hosts are one IP address written two ways
// (127.0.0.1 and ::ffff:127.0.0.1, ::1 and 0:0::1, a name in another
// case), or one host is a wildcard that takes the port on every address:
// an empty host or "::" (Go listens on both IPv4 and IPv6), or 0.0.0.0
// beside an IPv4 address (beside an IPv6 one, whether the binds clash
// depends on the system: it passes). Names are not resolved (so
// localhost and 127.0.0.1 pass): the file is checked without the network.
func sharedAddr(a, b string) string {
	ha, pa, _ := net.SplitHostPort(a)
	hb, pb, _ := net.SplitHostPort(b)
	portA, _ := strconv.ParseUint(pa, 10, 16)
	portB, _ := strconv.ParseUint(pb, 10, 16)
	if portA != portB || portA == 0 {
		return ""
	}
	ipA, errA := netip.ParseAddr(ha)
	ipB, errB := netip.ParseAddr(hb)
	ipA, ipB = ipA.Unmap(), ipB.Unmap()
	everywhere := func(h string, ip netip.Addr, other netip.Addr) bool {
		return h == "" || ip == netip.IPv6Unspecified() || ip == netip.IPv4Unspecified() && other.Is4()
	}
	switch {
	case everywhere(ha, ipA, ipB):
		return fmt.Sprintf("share port %d, and %q takes it on every address", portA, a)
	case everywhere(hb, ipB, ipA):
		return fmt.Sprintf("share port %d, and %q takes it on every address", portA, b)
	case errA == nil && errB == nil && ipA == ipB, errA != nil && errB != nil && strings.EqualFold(ha, hb):
		return "are one address written two ways"
	}
	return ""
}

// BalancerOptions are the balancer settings of p. A max_fails of 0 is
// nginx's "off", which balancer.Health says with a negative count (its 0
// is "the default", 1).
func (p *Pool) BalancerOptions() balancer.Options {
	health := balancer.Health{MaxFails: p.Passive.MaxFails, FailTimeout: p.Passive.FailTimeout}
	if health.MaxFails == 0 {
		health.MaxFails = -1
	}
	return balancer.Options{
		Health:     health,
		Replicas:   p.Replicas,
		LoadFactor: p.LoadFactor,
		TableSize:  p.TableSize,
	}
}

// normalForm reports whether a route's path is one a request's path can
// match: the gateway matches the request's path in normal form (its
// router's routePath) and refuses one with a dot segment, so a route
// written with "//", a backslash, a ';' or a "." or ".." segment would
// be accepted here and never chosen.
func normalForm(p string) bool {
	if strings.Contains(p, "//") || strings.ContainsAny(p, `;\`) {
		return false
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// hostProblem says why h (lower case, not empty) cannot be a route's
// host, or returns "". A host is a name as RFC 952 and RFC 1123 (section
// 2.1) write one: labels of letters, digits and '-', none starting or
// ending with '-', separated by single dots; each label at most 63
// characters (RFC 1035, section 2.3.1), the whole at most 253 (RFC 1035,
// section 2.3.4: 255 octets as DNS stores a name). The last label is not
// all digits (RFC 1123 again): such a name is an IPv4 address or a typo
// of one. The router adds two forms: "*." before a name, for every name
// under it, and an IPv4 address. It matches the request's host without
// its port and without a trailing dot, so a route's host with either
// would never match.
func hostProblem(h string) string {
	if strings.Contains(h, ":") {
		return "want name.example, *.example or nothing (any host), without a port"
	}
	if _, err := netip.ParseAddr(h); err == nil { // IPv4 only: an IPv6 address has colons
		return ""
	}
	name := strings.TrimPrefix(h, "*.")
	switch {
	case strings.Contains(name, "*"):
		return "a wildcard is \"*.\" before a name, as *.example.com, and matches every name under it"
	case strings.HasSuffix(name, "."):
		return "it ends with a dot: requests are routed by their host without one, so write it without"
	case len(name) > 253:
		return fmt.Sprintf("%d characters long: a host name has at most 253", len(name))
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		switch {
		case l == "":
			return "an empty label (two dots in a row, or a dot first): each dot separates two labels"
		case len(l) > 63:
			return fmt.Sprintf("label %q is %d characters long: a label has at most 63", l, len(l))
		case strings.IndexFunc(l, func(c rune) bool { return !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') }) >= 0:
			return fmt.Sprintf("label %q has a character other than a letter, a digit or '-' (an international name is written in its ASCII form, xn--...)", l)
		case l[0] == '-' || l[len(l)-1] == '-':
			return fmt.Sprintf("label %q starts or ends with '-'", l)
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "its last label is all digits, but it is not an IPv4 address"
	}
	return ""
}

func (d *decoder) checkRoute(path string, r *Route, pools map[string]*Pool) {
	r.Host = strings.ToLower(r.Host)
	if r.Host == "*" {
		r.Host = ""
	}
	if r.Host != "" {
		if why := hostProblem(r.Host); why != "" {
			d.fail(path+".host", "%q is not a host name: %s", r.Host, why)
		}
	}
	switch {
	case r.Path == "":
		r.Path = "/"
	case !strings.HasPrefix(r.Path, "/"):
		d.fail(path+".path", "%q does not start with /", r.Path)
	case !normalForm(r.Path):
		d.fail(path+".path", "%q would never match: requests are routed by their path in normal form (slashes merged, a backslash read as a slash, a segment's ';' and what follows dropped, no '.' or '..' segment); write it so", r.Path)
	case middleware.HasEscape(r.Path):
		// The router matches the request's path decoded: "/a%20b" here
		// would match only a request that sent "/a%2520b".
		d.fail(path+".path", "%q has a %%-escape, but routes match the request's path decoded (a request for /a%%20b is routed as /a b); write the character itself", r.Path)
	case len(r.Path) > 1:
		r.Path = strings.TrimSuffix(r.Path, "/")
	}
	r.Name = cmp.Or(r.Name, r.Host+r.Path)
	d.checkCacheAfterAuth(path, r)
	switch {
	case r.Pool == "":
		d.fail(path+".pool", "missing: say which pool serves this route (%s)", poolNames(pools))
	case pools[r.Pool] == nil:
		d.fail(path+".pool", "no pool %q (%s)", r.Pool, poolNames(pools))
	}
}

// poolNames lists the pools a route may name, for its errors.
func poolNames(pools map[string]*Pool) string {
	if len(pools) == 0 {
		return "the file defines none"
	}
	return "pools: " + strings.Join(slices.Sorted(maps.Keys(pools)), ", ")
}

// checkCacheAfterAuth refuses a cache further out than auth: it would
// answer from memory the requests auth would refuse.
func (d *decoder) checkCacheAfterAuth(path string, r *Route) {
	cache := slices.IndexFunc(r.Middleware, func(m Middleware) bool { return m.Name == "cache" })
	auth := slices.IndexFunc(r.Middleware, func(m Middleware) bool { return m.Name == "auth" })
	if cache >= 0 && auth > cache {
		d.fail(fmt.Sprintf("%s.middleware[%d]", path, cache), "cache comes before auth (middleware[%d]): it would answer from memory requests that auth refuses; put it after auth", auth)
	}
}
