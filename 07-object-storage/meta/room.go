package meta

import (
	"errors"
	"slices"
)

// ErrNoRoom is a write refused for want of room: a data server at its
// capacity, or whose disk is full, answers 507 Insufficient Storage (RFC
// 4918), and a client that could not make enough copies for that reason
// says so with this error. Another server, or a later try once space is
// freed, may succeed: it is not the request's fault.
var ErrNoRoom = errors.New("no room for the blob")

// HasRoom reports whether the server that sent hb said it had room for
// size more bytes. A Capacity of 0 is a server started with no limit.
// What a heartbeat says is a few seconds old: a server may have filled
// since, which its 507 to the upload tells the writer, or made room.
func (hb Heartbeat) HasRoom(size int64) bool {
	return hb.Capacity == 0 || hb.Free >= size
}

// roomFirst reorders order, a Placer's preference of servers for a blob
// of size bytes, so that the servers whose last heartbeat said they had
// no room for it come last. Each part keeps its order: while every
// server has room, the placement is the ring's, and a full server only
// lets the ring's next choice go before it. It stays in the list, since
// its heartbeat may be stale and a server that cannot take the blob
// refuses it (507), and the writer moves on down the list.
func roomFirst(order []string, beats map[string]Heartbeat, size int64) []string {
	roomy := make([]string, 0, len(order))
	var full []string
	for _, id := range order {
		if hb, ok := beats[id]; ok && !hb.HasRoom(size) {
			full = append(full, id)
		} else {
			roomy = append(roomy, id)
		}
	}
	return slices.Concat(roomy, full)
}
