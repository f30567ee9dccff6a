package dataserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// The handlers in this file serve the metadata server's maintenance:
// what a data server holds, removing garbage, verifying a copy, and
// copying a blob from another data server. None of them moves object
// bytes through the metadata server.

// inventory lists every blob the store holds, with its stamp if the
// store is a blob.Stamper.
func (s *Server) inventory(w http.ResponseWriter, r *http.Request) {
	wk, ok := s.opt.Store.(blob.Walker)
	if !ok {
		http.Error(w, ErrNotSupported.Error(), http.StatusNotImplemented)
		return
	}
	st, stamps := s.opt.Store.(blob.Stamper)
	list := []meta.Stored{}
	err := wk.Walk(func(h blob.Hash, size int64) error {
		e := meta.Stored{Hash: h, Size: size}
		if stamps {
			stamp, err := st.Stamp(h)
			if errors.Is(err, blob.ErrNotFound) {
				return nil // removed since the walk found it
			} else if err != nil {
				return err
			}
			e.Stamp = &stamp
		}
		list = append(list, e)
		return nil
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(list)
}

// remove deletes a blob the metadata server found unreferenced. With
// meta.StampHeader, and a store that is a blob.Stamper, only if the
// blob's stamp is still the one named (see fence.go); without either, at
// once, as an older metadata server expects.
func (s *Server) remove(w http.ResponseWriter, r *http.Request) {
	h, ok := s.hash(w, r)
	if !ok {
		return
	}
	var err error
	st, stamps := s.opt.Store.(blob.Stamper)
	if v := r.Header.Get(meta.StampHeader); v != "" && stamps {
		stamp, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil {
			http.Error(w, meta.StampHeader+" is not a number: "+perr.Error(), http.StatusBadRequest)
			return
		}
		err = st.RemoveStamped(h, stamp)
	} else {
		err = s.opt.Store.Remove(h)
	}
	switch {
	case errors.Is(err, blob.ErrStampChanged):
		http.Error(w, err.Error(), http.StatusPreconditionFailed)
	case errors.Is(err, blob.ErrNotFound):
		http.Error(w, err.Error(), http.StatusNotFound)
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// verify re-hashes the local copy: 200 and its size if intact, 409 if it
// was damaged (it is set aside at once, unless an upload has replaced it
// with a good copy meanwhile: then 200), 404 if there is none. The
// metadata server asks before it removes a surplus copy elsewhere, so
// that it never removes the last good one on the word of a bad one, nor
// on the word of a copy a crash could still lose (answerHeld).
func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	h, ok := s.hash(w, r)
	if !ok {
		return
	}
	n, err := s.check(r.Context(), h)
	if errors.Is(err, ErrDamaged) {
		set, serr := s.setAsideDamaged(h)
		switch {
		case serr != nil:
			http.Error(w, serr.Error(), http.StatusInternalServerError)
			return
		case set:
			http.Error(w, fmt.Sprintf("blob %s was damaged and is set aside", h.Short()), http.StatusConflict)
			return
		}
		// Replaced by a good copy since the check (an upload), or
		// removed: answer for what is stored now.
		n, err = s.opt.Store.Stat(h)
	}
	switch {
	case err == nil:
		w.Header().Set("X-Size", strconv.FormatInt(n, 10))
		if !s.answerHeld(w, h) {
			http.Error(w, fmt.Sprintf("blob %s was removed", h.Short()), http.StatusNotFound)
		}
	case errors.Is(err, blob.ErrNotFound):
		http.Error(w, err.Error(), http.StatusNotFound)
	default:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// answerHeld answers 200 for a copy of h found on disk by a put, a
// verify or a pull, once its stamp has moved (touch) and its name is
// durable (durable): the copy is counted on that answer, and the
// metadata server may remove another one for it. The answer names the
// new stamp (meta.StampHeader). It answers nothing and returns false if
// the copy is gone: a DELETE came first.
func (s *Server) answerHeld(w http.ResponseWriter, h blob.Hash) bool {
	err := s.touch(w, h)
	if err == nil {
		err = s.durable(h)
	}
	if err != nil {
		w.Header().Del(meta.StampHeader) // the stamp of a copy not counted, maybe gone
	}
	switch {
	case errors.Is(err, blob.ErrNotFound):
		return false
	case err != nil:
		http.Error(w, "could not hold the stored blob: "+err.Error(), http.StatusInternalServerError)
	default:
		w.WriteHeader(http.StatusOK)
	}
	return true
}

// pull copies a blob from another data server, paced by CopyLimiter.
// Store.Put checks the bytes against the hash as they arrive, so a bad
// source copy is refused (422) and never stored, and so is a blob larger
// than MaxBlobSize (413): the metadata server
// records the new location only after this answers 2xx and a HEAD
// confirms it. A copy already held is re-hashed first: 200 if intact;
// set aside and replaced if damaged (or unreadable), unless an upload
// has replaced it meanwhile (200); kept, with 503, if the re-hash could
// not finish (a deadline, a cancelled request). Every 200 comes after
// the copy's name is durable (answerHeld).
func (s *Server) pull(w http.ResponseWriter, r *http.Request) {
	var p meta.Pull
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		http.Error(w, "bad JSON request: "+err.Error(), http.StatusBadRequest)
		return
	}
	// One object, then the end: Decode alone stops after the first value
	// and would act on a body that goes on (two requests run together).
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		http.Error(w, "bad JSON request: more after the request object", http.StatusBadRequest)
		return
	}
	if _, err := blob.ParseHash(string(p.Hash)); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// From + "/blobs/" + hash is fetched: a From with a path or a query
	// would make this server fetch another resource, of any host.
	if err := meta.CheckAddr(p.From); err != nil {
		http.Error(w, "from: "+err.Error(), http.StatusBadRequest)
		return
	}
	if _, err := s.opt.Store.Stat(p.Hash); err == nil {
		switch _, err := s.check(r.Context(), p.Hash); {
		case err == nil:
			if s.answerHeld(w, p.Hash) {
				return
			} // removed since the check: copy it again
		case errors.Is(err, ErrDamaged):
			set, err := s.setAsideDamaged(p.Hash)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			if !set && s.answerHeld(w, p.Hash) {
				return // replaced by a good copy since the check (an upload)
			}
		case !errors.Is(err, blob.ErrNotFound):
			// A re-hash cut short (a deadline, a cancelled request) says
			// nothing about the copy: keep it, and let the caller try again.
			http.Error(w, "could not check the stored copy: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, p.From+"/blobs/"+string(p.Hash), nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp, err := s.opt.Client.Do(req)
	if err != nil {
		http.Error(w, fmt.Sprintf("source %s: %v", p.From, err), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		http.Error(w, fmt.Sprintf("source %s answered %s", p.From, resp.Status), http.StatusBadGateway)
		return
	}
	// A blob over the limit is refused with 413, not blamed on the
	// source (422 makes the metadata server forget the source's copy),
	// since it may be a good copy from a server started with a larger
	// -max-size: at once if the source says its size, as a data server
	// does (the metadata server asks again every round, and must not
	// cost a transfer each time), else at its first byte too many.
	if resp.ContentLength > s.opt.MaxBlobSize {
		http.Error(w, fmt.Sprintf("blob of %d bytes is larger than this server's limit of %d bytes", resp.ContentLength, s.opt.MaxBlobSize), http.StatusRequestEntityTooLarge)
		return
	}
	body, done, err := s.roomFor(http.MaxBytesReader(w, io.NopCloser(pace(r.Context(), resp.Body, s.opt.CopyLimiter)), s.opt.MaxBlobSize), resp.ContentLength)
	if err != nil {
		s.refuse(w, p.Hash, err)
		return
	}
	_, err = s.store(p.Hash, body, done)
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		w.WriteHeader(http.StatusCreated)
	case noRoom(err):
		s.refuse(w, p.Hash, err)
	case errors.As(err, &tooBig):
		http.Error(w, fmt.Sprintf("blob is larger than this server's limit of %d bytes", s.opt.MaxBlobSize), http.StatusRequestEntityTooLarge)
	case errors.Is(err, blob.ErrDigestMismatch):
		http.Error(w, fmt.Sprintf("source %s: %v", p.From, err), http.StatusUnprocessableEntity)
	default:
		http.Error(w, fmt.Sprintf("copying from %s: %v", p.From, err), http.StatusBadGateway)
	}
}
