package proxy

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// CheckNotItself returns an error wrapping ErrBadTarget when target is
// the address the proxy itself listens on (listen, host:port as the
// -listen flag takes it). Such a proxy forwards each request to itself,
// which forwards it again, each time on a new connection, until the
// client gives up or the machine runs out of connections: one curl
// becomes thousands of requests and as many log lines.
//
// It catches the slips one makes by hand: the same host and port, or a
// loopback name (localhost, 127.0.0.1, ::1) for a proxy that listens on
// loopback or on every address. Another of the machine's addresses, or a
// DNS name for it, it cannot tell without resolving, and does not try.
func CheckNotItself(target *url.URL, listen string) error {
	if target.Scheme != "http" {
		return nil // an https target fails its handshake with a plain-HTTP listener: no loop
	}
	lhost, lport, err := net.SplitHostPort(listen)
	if err != nil {
		return nil // not an address: listening on it reports why
	}
	port, err := net.LookupPort("tcp", lport) // a number, or a name in /etc/services
	if err != nil || port == 0 {
		return nil // 0 is a free port, never one a target names
	}
	tport := 80
	if p := target.Port(); p != "" {
		tport, _ = strconv.Atoi(p) // ParseTarget checked it
	}
	if tport != port || !sameMachineAddress(target.Hostname(), lhost) {
		return nil
	}
	return fmt.Errorf("%w %q: the proxy's own address (-listen %s): each request would come back to the proxy, "+
		"to be forwarded again, without end; give the backend's address, such as http://127.0.0.1:9001",
		ErrBadTarget, masked(target.String()), listen)
}

// sameMachineAddress reports whether a connection to host reaches a
// listener on lhost (both without a port): the same name or address, a
// loopback name for a loopback listener, or any loopback or unspecified
// address for a listener on every address ("", 0.0.0.0, ::).
func sameMachineAddress(host, lhost string) bool {
	if strings.EqualFold(host, lhost) {
		return true
	}
	h, hErr := netip.ParseAddr(host)
	l, lErr := netip.ParseAddr(lhost)
	switch {
	case hErr == nil && lErr == nil && h.Unmap() == l.Unmap():
		return true
	case lhost == "" || lErr == nil && l.IsUnspecified():
		return loopback(host) || hErr == nil && h.IsUnspecified()
	case strings.EqualFold(lhost, "localhost"):
		return localhost(host)
	case strings.EqualFold(host, "localhost"):
		return localhost(lhost)
	}
	return false
}

// loopback reports whether host is localhost or a loopback address.
func loopback(host string) bool {
	a, err := netip.ParseAddr(host)
	return localhost(host) || err == nil && a.Unmap().IsLoopback()
}

// localhost reports whether host is localhost or an address it names:
// 127.0.0.1 or ::1.
func localhost(host string) bool {
	a, err := netip.ParseAddr(host)
	return strings.EqualFold(host, "localhost") ||
		err == nil && (a.Unmap() == netip.AddrFrom4([4]byte{127, 0, 0, 1}) || a == netip.IPv6Loopback())
}
