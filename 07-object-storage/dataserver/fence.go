package dataserver

import (
	"net/http"
	"strconv"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// The fence between garbage collection and reuse. GC reads each copy's
// stamp in the inventory and sends it with its DELETE; the DELETE has a
// deadline, but this server may carry it out after the metadata server
// gave up on it and let writes through again. By then the same content
// may have been put again and counted. So every answer that lets a copy
// be counted (a PUT of a blob already stored, the metadata server's
// confirming HEAD, a verify, a pull of a copy already held) first moves
// the copy's stamp forward, under the store's lock, and a DELETE removes
// the copy only if its stamp is unchanged. Either order is then safe:
// the stamp moved first, and the DELETE is refused (412); the DELETE
// came first, and the answer finds no copy, so the write uploads it
// again. A store that is not a blob.Stamper has no stamps: its DELETEs
// are carried out whenever they arrive, and the window stays open.
//
// The answer names the new stamp (meta.StampHeader), so that a
// metadata server about to remove another copy it has just verified or
// confirmed (repair's trim of a surplus copy) can fence its DELETE with
// the stamp as this act left it, not as an older inventory listed it.

// touch moves the stamp of the stored copy of h forward, if the store
// keeps stamps, and names the new one in w's meta.StampHeader.
// blob.ErrNotFound: the copy is gone.
func (s *Server) touch(w http.ResponseWriter, h blob.Hash) error {
	st, ok := s.opt.Store.(blob.Stamper)
	if !ok {
		return nil
	}
	stamp, err := st.Touch(h)
	if err == nil {
		w.Header().Set(meta.StampHeader, strconv.FormatInt(stamp, 10))
	}
	return err
}
