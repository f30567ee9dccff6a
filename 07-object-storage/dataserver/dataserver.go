// Package dataserver is a data server: an HTTP face on a blob.Store. It
// knows nothing of object names, versions or other servers; it keeps
// blobs by hash, checks every write against its hash, and tells the
// metadata server it is alive.
//
//	PUT    /blobs/{sha256}          store a blob (201 new, 200 already had it)
//	GET    /blobs/{sha256}          read it (Range requests work)
//	HEAD   /blobs/{sha256}          does it exist, and how big is it
//
// and, for the metadata server's maintenance (chapter 07, part 2):
//
//	GET    /blobs                   the inventory: every blob, its size and stamp
//	DELETE /blobs/{sha256}          remove a blob (garbage collection); 412 if its stamp moved
//	POST   /blobs/{sha256}/verify   re-hash a copy; a damaged one is set aside (409)
//	POST   /pull                    copy a blob from another data server (meta.Pull)
//
// Every answer names this server (meta.ServerIDHeader, the ID it beats
// with). None of these is authenticated: the store trusts its own
// network, as the chapter's list of what is not built yet says.
package dataserver

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gocourse/gateway/02-single-proxy/proxy"
	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// DefaultMaxBlobSize bounds one write unless Options say otherwise.
const DefaultMaxBlobSize = 1 << 30

// Options configure a Server. Only Store is required.
type Options struct {
	Store       blob.Store
	MaxBlobSize int64 // larger writes get 413; default DefaultMaxBlobSize

	// For heartbeats: this server's lasting ID (blob.Disk.ID), its base
	// URL, the metadata server's, and the capacity to report (bytes).
	ID      string
	Addr    string
	MetaURL string
	// Capacity is the most the store may hold, in bytes. A write that
	// would take it past that is refused with 507 (room.go); 0 sets no
	// limit, and the server's heartbeats say so (a capacity of 0).
	Capacity int64
	Client   *http.Client // nil: one on proxy.NewTransport
	Log      *slog.Logger // default slog.Default()

	// Maintenance. ScrubLimiter paces the scrubber's reads and CopyLimiter
	// the bytes a pull copies (nil: no limit; see BytesPerSecond).
	// Temporary files of abandoned uploads older than TempGrace (default
	// an hour) are swept, measured with Now (default time.Now).
	ScrubLimiter Limiter
	CopyLimiter  Limiter
	TempGrace    time.Duration
	Now          func() time.Time
}

// Server serves blobs over HTTP.
type Server struct {
	opt Options
	mux *http.ServeMux

	mu     sync.Mutex
	unsent []blob.Hash // damaged blobs not yet reported to the metadata server

	replacing sync.Mutex // held to set a damaged copy aside: see setAsideDamaged

	room     sync.Mutex // guards reserved
	reserved int64      // bytes of uploads under way (room.go)
}

// New returns a data server.
func New(opt Options) *Server {
	if opt.MaxBlobSize <= 0 {
		opt.MaxBlobSize = DefaultMaxBlobSize
	}
	if opt.Client == nil {
		// Not http.DefaultClient: its Transport keeps 2 idle connections
		// per host, and this server talks to the same few hosts all day.
		opt.Client = &http.Client{Transport: proxy.NewTransport()}
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.TempGrace <= 0 {
		opt.TempGrace = time.Hour
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := &Server{opt: opt, mux: http.NewServeMux()}
	s.mux.HandleFunc("PUT /blobs/{hash}", s.put)
	s.mux.HandleFunc("GET /blobs/{hash}", s.get) // and HEAD
	s.mux.HandleFunc("GET /blobs", s.inventory)
	s.mux.HandleFunc("DELETE /blobs/{hash}", s.remove)
	s.mux.HandleFunc("POST /blobs/{hash}/verify", s.verify)
	s.mux.HandleFunc("POST /pull", s.pull)
	return s
}

// CloseIdleConnections closes the connections the server's client keeps
// open between requests: its heartbeats' to the metadata server, its
// pulls' to other data servers. Call it once the server has stopped and
// its loops have ended: the others may run on, and would otherwise hold
// each connection until the transport's idle timeout.
func (s *Server) CloseIdleConnections() { s.opt.Client.CloseIdleConnections() }

// ServeHTTP names this server in every answer (meta.ServerIDHeader), so
// that the metadata server can tell it from another one that has taken
// over the address it asked, and refuses a request that names another
// server (421 Misdirected Request) before acting on it: a DELETE meant
// for the server that had this address would otherwise remove a copy
// here before anyone could see whose answer it was.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opt.ID != "" {
		w.Header().Set(meta.ServerIDHeader, s.opt.ID)
		if want := r.Header.Get(meta.ServerIDHeader); want != "" && want != s.opt.ID {
			http.Error(w, fmt.Sprintf("this is data server %s, not %s", s.opt.ID, want), http.StatusMisdirectedRequest)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) hash(w http.ResponseWriter, r *http.Request) (blob.Hash, bool) {
	h, err := blob.ParseHash(r.PathValue("hash"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return "", false
	}
	return h, true
}

// put stores a blob. If an intact copy exists it answers 200 without
// reading the body: content addressing means the stored copy is already
// the right bytes (400 if the Content-Length is not their size: that
// body cannot be them). A client that sends "Expect: 100-continue" then never
// sends its body at all. "Intact" is checked by re-hashing the local
// copy (a disk read, no network): a copy that rotted on disk is set aside
// (quarantined, not destroyed) and replaced by the upload, which is how a
// client repairs a bad replica. Before the 200, the copy's stamp moves,
// fencing it off from a DELETE sent before (fence.go), and its name is
// made durable (durable): it may be another upload's, renamed into place
// and not yet synced.
func (s *Server) put(w http.ResponseWriter, r *http.Request) {
	h, ok := s.hash(w, r)
	if !ok {
		return
	}
	if r.ContentLength > s.opt.MaxBlobSize {
		http.Error(w, fmt.Sprintf("blob of %d bytes is larger than the limit of %d", r.ContentLength, s.opt.MaxBlobSize), http.StatusRequestEntityTooLarge)
		return
	}
	if size, err := s.opt.Store.Stat(h); err == nil {
		good, err := s.intact(h)
		if err != nil && !errors.Is(err, blob.ErrNotFound) {
			// Not opened (too many open files, say): that says nothing
			// about the copy, so it stays in service.
			http.Error(w, "could not check the stored blob: "+err.Error(), http.StatusInternalServerError)
			return
		}
		if !good {
			// Damaged, or removed since the Stat (then there is nothing to
			// set aside, and nothing to warn about).
			if _, err := s.opt.Store.Stat(h); err == nil {
				s.opt.Log.Warn("stored blob is damaged; replacing it with the upload", "blob", h.Short())
				if _, err := s.setAsideDamaged(h); err != nil {
					http.Error(w, "could not replace a damaged blob: "+err.Error(), http.StatusInternalServerError)
					return
				}
			}
		} else if r.ContentLength >= 0 && r.ContentLength != size {
			// A body of another length cannot hash to h: not "have it".
			http.Error(w, fmt.Sprintf("blob %s is %d bytes; the request's Content-Length says %d", h.Short(), size, r.ContentLength), http.StatusBadRequest)
			return
		} else if s.answerHeld(w, h) {
			return
		}
		// Set aside, or removed since the Stat (a DELETE came before the
		// fence): store the upload.
	}
	body, done, err := s.roomFor(http.MaxBytesReader(w, requestBody{r.Body}, s.opt.MaxBlobSize), r.ContentLength)
	if err != nil {
		s.refuse(w, h, err)
		return
	}
	n, err := s.store(h, body, done)
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		w.WriteHeader(http.StatusCreated)
	case noRoom(err):
		s.refuse(w, h, err)
	case errors.As(err, &tooBig):
		http.Error(w, fmt.Sprintf("blob is larger than the limit of %d bytes", s.opt.MaxBlobSize), http.StatusRequestEntityTooLarge)
	case errors.Is(err, blob.ErrDigestMismatch), errors.Is(err, blob.ErrBadHash):
		http.Error(w, err.Error(), http.StatusBadRequest)
	case errors.Is(err, errBody):
		// Most often a client that went away, and reads nothing; but
		// one that closed only its sending side does, and writing
		// nothing would answer it 200: "stored".
		s.opt.Log.Info("upload cut short by the client", "blob", h.Short(), "read", n, "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
	default:
		s.opt.Log.Warn("upload failed", "blob", h.Short(), "read", n, "err", err)
		http.Error(w, "could not store the blob: "+err.Error(), http.StatusInternalServerError)
	}
}

// refuse answers a write this server has no room for (ErrNoRoom, a full
// disk) with 507, or a failure to learn how much room it has with 500.
func (s *Server) refuse(w http.ResponseWriter, h blob.Hash, err error) {
	if !noRoom(err) {
		http.Error(w, "could not store the blob: "+err.Error(), http.StatusInternalServerError)
		return
	}
	s.opt.Log.Warn("no room for a blob", "blob", h.Short(), "err", err)
	http.Error(w, "could not store the blob: "+err.Error(), http.StatusInsufficientStorage)
}

// errBody marks an upload's body that could not be read to its end: cut
// short (fewer bytes than its Content-Length, or chunked without the last
// chunk), not valid chunked coding, or a client that went away. The
// request's fault, not the store's.
var errBody = errors.New("reading the request body")

// requestBody marks its body's read errors with errBody, so that put can
// tell them from the store's own (a full disk). It leaves io.EOF alone:
// that is how a body ends.
type requestBody struct{ io.ReadCloser }

func (b requestBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("%w: %w", errBody, err)
	}
	return n, err
}

// get serves a blob with http.ServeContent, which answers HEAD, Range and
// If-None-Match. Blobs never change, so the hash is a perfect ETag. A
// request with meta.ConfirmHeader (the metadata server's HEAD before it
// counts a copy) moves the copy's stamp forward first, and the answer
// names the new one; and it makes the copy's name durable, as a PUT
// answered from a stored copy does: the copy may be another upload's,
// renamed into place and not yet synced (or whose sync failed), and a
// commit counted on it must not be lost in a crash.
func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	h, ok := s.hash(w, r)
	if !ok {
		return
	}
	var err error
	if r.Header.Get(meta.ConfirmHeader) != "" {
		err = s.touch(w, h) // the metadata server will count this copy: see fence.go
		if err == nil {
			err = s.durable(h)
		}
	}
	var f blob.Reader
	if err == nil {
		f, err = s.opt.Store.Open(h)
	}
	if err != nil {
		w.Header().Del(meta.StampHeader) // the stamp of a copy not counted, maybe gone
	}
	if errors.Is(err, blob.ErrNotFound) {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("ETag", strconv.Quote(string(h)))
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeContent(w, r, "", time.Time{}, f)
}

// setAsideDamaged sets the stored copy of h aside (quarantined: the
// bytes are kept for a person to look at) if it is still damaged, and
// reports whether it did. Every path that finds a damaged copy (an
// upload, a scrub, a verify, a pull) comes through here, and any of them
// can find it while another replaces it: an upload sets the damaged copy
// aside and stores a good one. The slower path (a re-hash at the scrub
// rate still reads the damaged bytes it opened) must not then set aside
// the good copy: it would leave none in service, after the upload was
// told its copy was stored. Checking and acting under one lock makes them
// one step; one lock for every blob, since damage is rare. A copy it
// cannot open to check stays in service, with the error.
func (s *Server) setAsideDamaged(h blob.Hash) (bool, error) {
	s.replacing.Lock()
	defer s.replacing.Unlock()
	if _, err := s.opt.Store.Stat(h); err != nil {
		return false, nil // gone
	}
	switch good, err := s.intact(h); {
	case errors.Is(err, blob.ErrNotFound):
		return false, nil // gone
	case err != nil:
		return false, err // not opened: nothing known about the copy
	case good:
		return false, nil // replaced by a good copy meanwhile
	}
	return true, s.setAside(h)
}

// durable makes sure the copy of h that put found survives a crash
// before put says it holds it: it may be another upload's, renamed into
// place but not yet synced (blob.Syncer). A store that is not a Syncer
// makes its blobs durable before they are visible.
func (s *Server) durable(h blob.Hash) error {
	if sy, ok := s.opt.Store.(blob.Syncer); ok {
		return sy.SyncBlob(h)
	}
	return nil
}

// intact reports whether the stored copy of h still hashes to h. A copy
// that cannot be read to the end is not intact, as in check; one that
// cannot be opened is an error (blob.ErrNotFound if it is gone), since a
// failed open (too many open files) says nothing about the copy.
func (s *Server) intact(h blob.Hash) (bool, error) {
	f, err := s.opt.Store.Open(h)
	if err != nil {
		return false, err
	}
	defer f.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		return false, nil
	}
	return hex.EncodeToString(sum.Sum(nil)) == string(h), nil
}
