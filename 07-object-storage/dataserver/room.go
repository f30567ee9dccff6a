package dataserver

import (
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/gocourse/gateway/07-object-storage/blob"
	"github.com/gocourse/gateway/07-object-storage/meta"
)

// The capacity a server is started with is a promise to the metadata
// server, which places new blobs on servers with room first (see
// meta.Heartbeat.HasRoom). It is kept here too: a server at its capacity
// refuses a write with 507 Insufficient Storage (meta.ErrNoRoom), before
// reading its body when the request says its length. Uploads under way
// hold their room from the start (reserve), so that sixteen writes
// arriving together cannot each see the same free space and overfill
// the server between them.

// free is the room left: capacity less what the store holds and what
// uploads under way have reserved. s.room must be held. A Capacity of 0
// sets no limit: free is then 0, and the heartbeat's capacity of 0 tells
// the metadata server there is no limit (meta.Heartbeat.HasRoom).
func (s *Server) free() (int64, error) {
	u, err := s.opt.Store.Usage()
	if err != nil {
		return 0, err
	}
	return max(s.opt.Capacity-u.Bytes-s.reserved, 0), nil
}

// reserve takes n bytes of room for an upload, or fails with meta.ErrNoRoom.
// The upload gives them back with unreserve when it is over, stored or
// not. (A stored blob is counted by the store before that: for a moment
// its bytes count twice, which can refuse a write, never overfill.)
func (s *Server) reserve(n int64) error {
	if s.opt.Capacity <= 0 {
		return nil
	}
	s.room.Lock()
	defer s.room.Unlock()
	free, err := s.free()
	if err != nil {
		return err
	}
	if n > free {
		return fmt.Errorf("%d bytes, %d free of a capacity of %d: %w", n, free, s.opt.Capacity, meta.ErrNoRoom)
	}
	s.reserved += n
	return nil
}

func (s *Server) unreserve(n int64) {
	if s.opt.Capacity <= 0 {
		return
	}
	s.room.Lock()
	s.reserved -= n
	s.room.Unlock()
}

// roomFor returns r, every byte of which has room reserved before the
// store sees it: length bytes at once if length is known (>= 0), and
// nothing is read if they do not fit; else each read's bytes as they
// come, failing with meta.ErrNoRoom at the first there is no room for (the
// store then keeps nothing: its Put fails when its reader does). done
// gives the room back.
func (s *Server) roomFor(r io.Reader, length int64) (_ io.Reader, done func(), err error) {
	if s.opt.Capacity <= 0 {
		return r, func() {}, nil
	}
	if length >= 0 {
		if err := s.reserve(length); err != nil {
			return nil, nil, err
		}
		return r, func() { s.unreserve(length) }, nil
	}
	rr := &reservingReader{s: s, r: r}
	return rr, func() { s.unreserve(rr.reserved) }, nil
}

// store stores body as h, and gives back the room roomFor took for it
// (done) however the store's Put ends: a panic too, which net/http
// recovers from and serves on, and which must not leave the room taken
// for good, refusing later writes as if the server were full.
func (s *Server) store(h blob.Hash, body io.Reader, done func()) (int64, error) {
	defer done()
	return s.opt.Store.Put(h, body)
}

// reservingReader is roomFor's reader for a body of unknown length.
type reservingReader struct {
	s        *Server
	r        io.Reader
	reserved int64
}

func (rr *reservingReader) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p)
	if n > 0 {
		if rerr := rr.s.reserve(int64(n)); rerr != nil {
			return 0, rerr
		}
		rr.reserved += int64(n)
	}
	return n, err
}

// noRoom reports whether err is a write refused for want of room: this
// server's capacity, or a full disk (ENOSPC, or EDQUOT for a quota).
func noRoom(err error) bool {
	return errors.Is(err, meta.ErrNoRoom) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
