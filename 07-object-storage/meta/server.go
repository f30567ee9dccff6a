// Package meta is the object store's metadata server. It knows the
// versions of each key, the blob (named by its SHA-256) each version
// holds, and the data servers that hold each blob: a bbolt file
// (Namespace). It learns which data servers are alive from their
// heartbeats (Registry), tells a writer where to put a blob (Placer), and
// keeps the copies in order: repair brings a blob with too few copies
// back to R, and garbage collection deletes the blobs no version refers
// to. Object bytes never pass through it, only small JSON messages (the
// types of api.go, which clients and data servers import from here), so
// it stays off the data path.
package meta

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gocourse/gateway/02-single-proxy/proxy"
	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/recent"
)

// ErrTooFewReplicas is returned when fewer than the write quorum of data
// servers are live, or confirm that they hold a blob.
var ErrTooFewReplicas = errors.New("too few replicas")

// Options configure a Server. Only Namespace is required.
type Options struct {
	Namespace *Namespace
	Replicas  int           // R: copies of each blob; default 2
	Quorum    int           // W: copies confirmed before a commit; default R
	Timeout   time.Duration // a data server silent this long is suspect; default 10s
	Grace     time.Duration // and this much longer, dead; default 30s
	Now       func() time.Time
	Placer    Placer       // default &Ring{}
	Client    *http.Client // to confirm replicas; nil: one on proxy.NewTransport
	Log       *slog.Logger

	// Maintenance (repair.go, gc.go).
	RepairConcurrency int           // copies made at once by a repair round; default 4
	RepairRate        int64         // bytes a second data servers copy and re-hash at, at least; default 20 MiB
	KeepVersions      int           // versions with data kept per key; 0 keeps all
	GCGrace           time.Duration // unreferenced this long before deletion; default 1h
}

// Server is the metadata server's HTTP API. It never sees object data:
// clients ask it where to write, write to data servers themselves, and
// then ask it to commit. All its messages are small JSON documents.
//
//	POST   /heartbeat                    a data server is alive (Heartbeat)
//	GET    /dataservers                  the live data servers
//	POST   /writes                       where to put a blob (WriteRequest -> Placement)
//	POST   /commits                      record a version (CommitRequest -> Version)
//	GET    /chunks/{hash}                a blob's chunk list (blob.Chunks), 404 if none
//	DELETE /chunks/{hash}                forget it: proven wrong by a whole copy
//	GET    /objects?key=K[&version=N]    one version, the latest by default (a delete marker: 404, X-Delete-Marker)
//	DELETE /objects?key=K                add a delete marker (with version=: 400; deleted already: 404, X-Delete-Marker)
//	GET    /versions?key=K&after=N&limit=M  versions of K, by page
//	GET    /keys?prefix=P&after=A&limit=N  latest versions of keys, by page
//	POST   /bad                          a replica may be bad (BadReplica): checked, then forgotten if so
//	POST   /replicas                     new copies of a known blob (ReplicaRequest)
//	GET    /status                       data servers' states, last repair and GC (JSON)
//	GET    /metrics                      the same for Prometheus (text format)
//
// Keys travel in the query string, not the path, so that no router
// cleans "a//b" into "a/b" behind the store's back.
type Server struct {
	opt      Options
	ns       *Namespace
	registry *Registry
	mux      *http.ServeMux

	// gc keeps garbage collection's deletions apart from writes: a
	// placement, commit or replica update holds it for reading, and GC
	// holds it while it removes blobs, so no commit can confirm a blob
	// that is being deleted (see GC).
	gc sync.RWMutex

	mu      sync.Mutex
	pending placements             // blobs placed for writing, and when
	jobs    map[string]*sync.Mutex // per data server address: one pull or verify at a time (oneJob)
	stats   stats

	reports reportQueue // bad-copy reports waiting for their check (badreport.go)

	hooks testHooks
}

// testHooks are seams for this package's tests, set through export_test.go
// on one server; a nil hook does nothing.
type testHooks struct {
	gc         func()            // GC, just before it takes its lock
	repairFull func()            // RepairRound, waiting for a free slot
	jobWait    func(addr string) // oneJob, when the data server is busy
	gcBatch    int               // blobs GC deletes per hold of its lock; 0: gcBatch
	maxReports int               // reports waiting for their check; 0: maxReports
	forget     func()            // a check, about to forget a copy it found bad
	gcWait     func()            // a placement, commit or record, waiting for GC's lock
	gcLooked   func()            // GC, under its lock, once it has looked at recent placements
}

func (h *testHooks) beforeGCLock() {
	if h.gc != nil {
		h.gc()
	}
}

func (h *testHooks) repairWaits() {
	if h.repairFull != nil {
		h.repairFull()
	}
}

func (h *testHooks) jobWaits(addr string) {
	if h.jobWait != nil {
		h.jobWait(addr)
	}
}

func (h *testHooks) gcWaits() {
	if h.gcWait != nil {
		h.gcWait()
	}
}

func (h *testHooks) gcLooks() {
	if h.gcLooked != nil {
		h.gcLooked()
	}
}

func (h *testHooks) batch() int { return cmp.Or(h.gcBatch, gcBatch) }

// NewServer returns a metadata server.
func NewServer(opt Options) (*Server, error) {
	if opt.Namespace == nil {
		return nil, errors.New("meta: no namespace")
	}
	if opt.Replicas == 0 {
		opt.Replicas = 2
	}
	if opt.Quorum == 0 {
		opt.Quorum = opt.Replicas
	}
	if opt.Replicas < 1 || opt.Quorum < 1 || opt.Quorum > opt.Replicas {
		return nil, fmt.Errorf("meta: want 1 <= quorum (%d) <= replicas (%d)", opt.Quorum, opt.Replicas)
	}
	if opt.Timeout == 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.Grace == 0 {
		opt.Grace = 30 * time.Second
	}
	if opt.RepairConcurrency <= 0 {
		opt.RepairConcurrency = 4
	}
	if opt.RepairRate <= 0 {
		opt.RepairRate = 20 << 20
	}
	if opt.GCGrace <= 0 {
		opt.GCGrace = time.Hour
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Placer == nil {
		opt.Placer = &Ring{}
	}
	if opt.Client == nil {
		// Not http.DefaultClient: its Transport keeps 2 idle connections
		// per host, and this server talks to the same few hosts all day.
		opt.Client = &http.Client{Transport: proxy.NewTransport()}
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	s := &Server{
		opt: opt, ns: opt.Namespace, registry: NewRegistry(opt.Timeout, opt.Grace, opt.Now), mux: http.NewServeMux(),
		jobs: map[string]*sync.Mutex{},
	}
	s.reports.held = map[badCopy]bool{}
	s.reports.intact = recent.NewMap[badCopy, int64](reportQuiet, maxIntact)
	s.reports.idle.L = &s.reports.mu
	s.reports.ctx, s.reports.stop = context.WithCancel(context.Background())
	s.mux.HandleFunc("POST /heartbeat", s.heartbeat)
	s.mux.HandleFunc("GET /dataservers", s.dataservers)
	s.mux.HandleFunc("POST /writes", s.write)
	s.mux.HandleFunc("POST /commits", s.commit)
	s.mux.HandleFunc("GET /chunks/{hash}", s.chunks)
	s.mux.HandleFunc("DELETE /chunks/{hash}", s.dropChunks)
	s.mux.HandleFunc("GET /objects", s.get)
	s.mux.HandleFunc("DELETE /objects", s.delete)
	s.mux.HandleFunc("GET /versions", s.versions)
	s.mux.HandleFunc("GET /keys", s.list)
	s.mux.HandleFunc("POST /bad", s.bad)
	s.mux.HandleFunc("POST /replicas", s.replicas)
	s.mux.HandleFunc("GET /status", s.status)
	s.mux.HandleFunc("GET /metrics", s.metrics)
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Registry returns the live-server registry, which heartbeats feed.
func (s *Server) Registry() *Registry { return s.registry }

func (s *Server) heartbeat(w http.ResponseWriter, r *http.Request) {
	var hb Heartbeat
	if !decode(w, r, &hb) {
		return
	}
	if !validID(hb.ID) {
		http.Error(w, fmt.Sprintf("heartbeat: id %q is not 1 to 64 letters, digits, '.', '_' or '-'", hb.ID), http.StatusBadRequest)
		return
	}
	if err := CheckAddr(hb.Addr); err != nil {
		http.Error(w, "heartbeat: addr "+err.Error(), http.StatusBadRequest)
		return
	}
	if hb.Capacity < 0 || hb.Free < 0 || hb.Blobs < 0 {
		http.Error(w, "heartbeat: negative capacity, free space or blob count", http.StatusBadRequest)
		return
	}
	s.registry.Beat(hb)
	if err := s.ns.SetServerAddr(hb.ID, hb.Addr); err != nil {
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (s *Server) dataservers(w http.ResponseWriter, r *http.Request) {
	live := s.registry.Live()
	if live == nil {
		live = []Heartbeat{} // [] rather than null
	}
	reply(w, http.StatusOK, live)
}

// addr returns the address of data server id: the one it gave in its
// last heartbeat, or, after a restart and before it beats again, the one
// recorded in the database.
func (s *Server) addr(id string) (string, bool) {
	if a, ok := s.registry.Addr(id); ok {
		return a, true
	}
	return s.ns.ServerAddr(id)
}

func (s *Server) write(w http.ResponseWriter, r *http.Request) {
	var req WriteRequest
	if !decode(w, r, &req) || !validKeyHash(w, req.Key, req.Hash) {
		return
	}
	if req.Size < 0 {
		http.Error(w, "negative size", http.StatusBadRequest)
		return
	}
	defer s.holdOffGC()()
	now := s.opt.Now()
	s.mu.Lock()
	s.pending.add(req.Hash, now, s.opt.GCGrace)
	s.mu.Unlock()
	// pending is lost in a restart; a garbage mark is not. A blob placed
	// while marked restarts its grace on disk too, or the first GC after a
	// restart would delete the copies this placement offers (Have).
	if err := s.ns.Placed(req.Hash, now); err != nil {
		fail(w, err)
		return
	}
	live := map[string]string{} // ID -> address
	beats := map[string]Heartbeat{}
	var ids []string
	for _, hb := range s.registry.Live() {
		live[hb.ID] = hb.Addr
		beats[hb.ID] = hb
		ids = append(ids, hb.ID)
	}
	if len(ids) < s.opt.Quorum {
		fail(w, fmt.Errorf("%d live data servers, need at least %d: %w", len(ids), s.opt.Quorum, ErrTooFewReplicas))
		return
	}
	have, err := s.ns.Replicas(req.Hash)
	if err != nil {
		fail(w, err)
		return
	}
	// A recorded copy is offered only if its server still answers for it,
	// as a commit will ask: a server that died within the last -timeout
	// is still live here, and a client told it holds the blob would send
	// no copy elsewhere, and its commit would fail for want of one.
	// A copy reported bad and not yet checked is not offered either: a
	// read repair asks for this placement, and must send its verified
	// bytes to that server rather than count the copy it found bad.
	var held []string
	for _, id := range have {
		if a, ok := live[id]; ok && !s.doubted(req.Hash, a) {
			held = append(held, a)
		}
	}
	have = nil
	if len(held) > 0 {
		have = s.confirm(r.Context(), req.Hash, req.Size, held)
	}
	// The ring places blobs on IDs, not addresses, so a server that moves
	// keeps its share of the ring; servers with no room go last.
	p := Placement{Replicas: s.opt.Replicas, Quorum: s.opt.Quorum}
	for _, id := range roomFirst(s.opt.Placer.Place(string(req.Hash), ids), beats, req.Size) {
		p.Targets = append(p.Targets, live[id])
		if slices.Contains(have, id) {
			p.Have = append(p.Have, live[id])
		}
	}
	reply(w, http.StatusOK, p)
}

// commit records a version only after at least Quorum distinct live data
// servers answer a HEAD for the blob with the right size. It does not
// take the client's word for it: a client with a bug, or one whose
// upload to a server failed silently, would otherwise commit an object
// nobody can read. Only registered data servers are asked, so a client
// cannot make the metadata server send requests to arbitrary addresses.
func (s *Server) commit(w http.ResponseWriter, r *http.Request) {
	var req CommitRequest
	if !decodeUpTo(w, r, &req, maxCommit) || !validKeyHash(w, req.Key, req.Hash) || !validReplicas(w, req.Replicas) {
		return
	}
	if req.Size < 0 {
		http.Error(w, "negative size", http.StatusBadRequest)
		return
	}
	if err := ValidateContentType(req.ContentType); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if req.Chunks != nil {
		if err := req.Chunks.Check(req.Size); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	defer s.holdOffGC()()
	confirmed := s.confirm(r.Context(), req.Hash, req.Size, req.Replicas)
	if len(confirmed) < s.opt.Quorum {
		fail(w, fmt.Errorf("%d of the replicas %v hold blob %s, need %d: %w",
			len(confirmed), req.Replicas, req.Hash.Short(), s.opt.Quorum, ErrTooFewReplicas))
		return
	}
	req.Replicas = confirmed // IDs, as the namespace records them
	var v Version
	err := s.recording(req.Hash, confirmed, func() (err error) {
		v, err = s.ns.Commit(req, s.opt.Now())
		return err
	})
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusCreated, s.liveFirst(v))
}

// chunks answers with a blob's chunk list. It is asked once per read of
// a large object, so it is not part of every version the server sends.
func (s *Server) chunks(w http.ResponseWriter, r *http.Request) {
	hash, err := blob.ParseHash(r.PathValue("hash"))
	if err != nil {
		fail(w, err)
		return
	}
	c, err := s.ns.Chunks(hash)
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, c)
}

// dropChunks forgets a blob's chunk list (Namespace.DropChunks).
func (s *Server) dropChunks(w http.ResponseWriter, r *http.Request) {
	hash, err := blob.ParseHash(r.PathValue("hash"))
	if err != nil {
		fail(w, err)
		return
	}
	if err := s.ns.DropChunks(hash); err != nil {
		fail(w, err)
		return
	}
	s.opt.Log.Warn("a reader found no replica matching a chunk list; list dropped", "blob", hash.Short())
	w.WriteHeader(http.StatusNoContent)
}

// confirm returns the IDs of the live data servers among replicas (by
// address) that hold blob hash with the given size. The ID is the one
// the registry last heard from the address; an answer that names
// another server (the address changed hands since) counts for none.
func (s *Server) confirm(ctx context.Context, hash blob.Hash, size int64, replicas []string) []string {
	var (
		mu        sync.Mutex
		confirmed []string
		wg        sync.WaitGroup
	)
	// Callers hold GC's lock for reading: a data server that hangs must
	// not hold up GC, and with it every write, for long.
	ctx, cancel := context.WithTimeout(ctx, quickTimeout)
	defer cancel()
	for _, addr := range slices.Compact(slices.Sorted(slices.Values(replicas))) {
		id, ok := s.registry.LiveID(addr)
		if !ok {
			continue
		}
		wg.Go(func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodHead, addr+"/blobs/"+string(hash), nil)
			if err != nil {
				return
			}
			// The copy is about to be counted: the data server moves its
			// stamp, so that a late DELETE of GC's is refused.
			req.Header.Set(ConfirmHeader, "1")
			resp, err := s.do(req, id)
			if err != nil {
				s.opt.Log.Warn("cannot confirm replica", "addr", addr, "blob", hash.Short(), "err", err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && resp.ContentLength == size {
				mu.Lock()
				confirmed = append(confirmed, id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(confirmed)
	return confirmed
}

// liveFirst turns v's replica IDs into addresses, live servers first so
// that a reader tries them first. Dead ones stay listed, last: they may
// be back already.
func (s *Server) liveFirst(v Version) Version {
	var live, dead []string
	for _, id := range v.Replicas {
		addr, ok := s.addr(id)
		switch {
		case !ok:
		case s.registry.IsLive(id):
			live = append(live, addr)
		default:
			dead = append(dead, addr)
		}
	}
	v.Replicas = append(live, dead...)
	return v
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("key")
	var number uint64
	if r.URL.Query().Has("version") { // an empty one too: a mistake, not "the latest"
		q := r.URL.Query().Get("version")
		var err error
		if number, err = strconv.ParseUint(q, 10, 64); err != nil || number == 0 {
			http.Error(w, fmt.Sprintf("version %q is not a positive number", q), http.StatusBadRequest)
			return
		}
	}
	v, err := s.ns.Get(key, number)
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, s.liveFirst(v))
}

// delete adds a delete marker. It refuses a version= rather than ignore
// it: a caller that meant to remove one version would see the latest go.
func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Has("version") {
		http.Error(w, "a DELETE adds a delete marker after the latest version; it takes no version=", http.StatusBadRequest)
		return
	}
	v, err := s.ns.Delete(r.URL.Query().Get("key"), s.opt.Now())
	if err != nil {
		fail(w, err)
		return
	}
	reply(w, http.StatusOK, v)
}

func (s *Server) versions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := ParseLimit(q.Get("limit"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	after, err := ParseAfterVersion(q.Get("after"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	list, err := s.ns.VersionPage(q.Get("key"), after, cmp.Or(limit, MaxListLimit))
	if err != nil {
		fail(w, err)
		return
	}
	for i := range list.Versions {
		list.Versions[i] = s.liveFirst(list.Versions[i])
	}
	reply(w, http.StatusOK, list)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := ParseLimit(q.Get("limit"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	list, err := s.ns.List(q.Get("prefix"), q.Get("after"), cmp.Or(limit, MaxListLimit))
	if err != nil {
		fail(w, err)
		return
	}
	for i := range list.Objects {
		list.Objects[i] = s.liveFirst(list.Objects[i])
	}
	reply(w, http.StatusOK, list)
}

// bad takes a report of a bad copy and answers at once: 202 if a record
// names the copy (it is checked after the answer, and forgotten unless
// its data server vouches for it: see badreport.go), 204 if none does
// (nothing to check), 503 if too many reports wait for their check or
// the checks have stopped (Close).
func (s *Server) bad(w http.ResponseWriter, r *http.Request) {
	var b BadReplica
	if !decode(w, r, &b) {
		return
	}
	if _, err := blob.ParseHash(string(b.Hash)); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// An address no data server could have matches no record: refused,
	// not answered "nothing to forget" while the bad copy stays listed.
	if err := CheckAddr(b.Addr); err != nil {
		http.Error(w, "addr "+err.Error(), http.StatusBadRequest)
		return
	}
	ids, err := s.reported(b.Hash, b.Addr)
	if err != nil {
		fail(w, err)
		return
	}
	if len(ids) == 0 {
		w.WriteHeader(http.StatusNoContent) // not a copy we know of: nothing to forget
		return
	}
	if !s.queueReport(badCopy{b.Hash, b.Addr}) {
		http.Error(w, "too many bad-copy reports wait for their check, or the server is stopping; send it again later", http.StatusServiceUnavailable)
		return
	}
	s.opt.Log.Warn("bad replica reported; checking it", "addr", b.Addr, "blob", b.Hash.Short())
	w.WriteHeader(http.StatusAccepted)
}

func validKeyHash(w http.ResponseWriter, key string, hash blob.Hash) bool {
	if err := ValidateKey(key); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return false
	}
	if _, err := blob.ParseHash(string(hash)); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

// maxNamed bounds the data servers a commit or a replica request may
// name. A client names the servers it wrote to and those the placement
// said hold the blob already: R, or a few more. A commit's message may be
// 64 MiB (maxCommit) for its chunk list; without this bound, 16 million
// one-letter names fit in it, each sorted and looked up.
const maxNamed = 100

// validReplicas answers 400 unless list names at most maxNamed
// addresses, each a base URL (CheckAddr).
func validReplicas(w http.ResponseWriter, list []string) bool {
	if len(list) > maxNamed {
		http.Error(w, fmt.Sprintf("%d replicas named, more than %d", len(list), maxNamed), http.StatusBadRequest)
		return false
	}
	for _, addr := range list {
		if err := CheckAddr(addr); err != nil {
			http.Error(w, "replica "+err.Error(), http.StatusBadRequest)
			return false
		}
	}
	return true
}

// maxMessage bounds a JSON request: metadata messages are small. A
// commit may carry a chunk list, 67 bytes of JSON per MiB of blob:
// maxCommit, the bound for every commit, lets that describe a blob of up
// to about 1 TiB.
const (
	maxMessage = 1 << 20
	maxCommit  = 64 << 20
)

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeUpTo(w, r, v, maxMessage)
}

// decodeUpTo reads one JSON value of at most limit bytes into v. A body
// over the limit is a 413, anything after the value a 400: two requests
// sent as one would have the second ignored. So is a body that is not
// UTF-8 (RFC 8259, section 8.1): encoding/json would read each bad byte
// as U+FFFD, and a key would be placed and committed under a name that
// is not the one sent. For the same reason so is an escape of half a
// UTF-16 surrogate pair, alone (see loneSurrogate). The body is read
// whole first, as the decoder would buffer it anyway.
func decodeUpTo(w http.ResponseWriter, r *http.Request, v any, limit int64) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err == nil && !utf8.Valid(body) {
		http.Error(w, "bad JSON request: not valid UTF-8", http.StatusBadRequest)
		return false
	}
	if escape, at, ok := loneSurrogate(body); err == nil && ok {
		http.Error(w, fmt.Sprintf("bad JSON request: %s at offset %d is half of a UTF-16 surrogate pair, alone: it names no character", escape, at), http.StatusBadRequest)
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err == nil {
		err = dec.Decode(v)
	}
	if err == nil {
		if err = dec.Decode(new(json.RawMessage)); err == io.EOF {
			return true
		} else if err == nil {
			err = errors.New("more than one JSON value")
		}
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		http.Error(w, fmt.Sprintf("request larger than the limit of %d bytes", limit), http.StatusRequestEntityTooLarge)
		return false
	}
	http.Error(w, "bad JSON request: "+err.Error(), http.StatusBadRequest)
	return false
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// fail maps an error to its status code: the client can tell a bad
// request from a missing object from a store that cannot take a write.
func fail(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrBadKey), errors.Is(err, ErrBadContentType), errors.Is(err, blob.ErrBadHash), errors.Is(err, blob.ErrBadChunks):
		status = http.StatusBadRequest
	case errors.Is(err, ErrDeleted):
		w.Header().Set(DeleteMarkerHeader, "true")
		status = http.StatusNotFound
	case errors.Is(err, ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, ErrTooFewReplicas):
		status = http.StatusServiceUnavailable
	}
	http.Error(w, err.Error(), status)
}

// replicas records new copies of a blob that a client made after finding
// bad ones (read repair). Like a commit, it believes only data servers
// that confirm they hold the blob.
func (s *Server) replicas(w http.ResponseWriter, r *http.Request) {
	var req ReplicaRequest
	if !decode(w, r, &req) || !validReplicas(w, req.Replicas) {
		return
	}
	if _, err := blob.ParseHash(string(req.Hash)); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if req.Size < 0 {
		http.Error(w, "negative size", http.StatusBadRequest)
		return
	}
	defer s.holdOffGC()()
	confirmed := s.confirm(r.Context(), req.Hash, req.Size, req.Replicas)
	if len(confirmed) == 0 {
		fail(w, fmt.Errorf("none of %v holds blob %s: %w", req.Replicas, req.Hash.Short(), ErrTooFewReplicas))
		return
	}
	// A copy reported bad before this repair stored a verified one in
	// its place: the report's check must not forget the new copy.
	if err := s.addReplicas(req.Hash, confirmed); err != nil {
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
