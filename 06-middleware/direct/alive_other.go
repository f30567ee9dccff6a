//go:build !unix

package direct

import "net"

// canPeek is false here: this system gives no way to look at a socket
// without waiting, so a stray response on an idle connection would go
// unnoticed and be read as the next request's answer (one client's data
// sent to another). The Transport then takes no request at all
// (takes): everything goes to http.Transport, whose reading goroutine
// notices such bytes.
const canPeek = false

// peeker stands in for the Unix one; it is never used to decide a reuse.
type peeker struct{}

func newPeeker(net.Conn) *peeker { return &peeker{} }

func (*peeker) alive() bool { return true }

func (*peeker) blind() bool { return true }
