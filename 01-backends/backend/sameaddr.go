package backend

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// sameAddress is the address that addr, host:port, names, spelled one
// way, so that two spellings of one address compare equal:
// "localhost:9201", "127.0.0.1:09201" and "[::ffff:127.0.0.1]:9201" are
// all "127.0.0.1:9201". It asks no DNS server: an IP address is read as
// written (an IPv4 address written as IPv6 is the IPv4 one, as
// net.Listen takes it), localhost as net.Listen resolves it (from the
// hosts file: its first IPv4 address), a port by number or by name (from
// the services file). Any other host name is compared as written. ok is
// false for a request for any free port (port 0, or none as in
// "127.0.0.1:"), which may repeat, and for anything that is not
// host:port, which serve.Listen refuses.
//
// Two different addresses may still share a port: 0.0.0.0:9201 holds
// 127.0.0.1:9201 on Linux, not on macOS. That is the system's rule, and
// is left to the system.
func sameAddress(addr string) (same string, ok bool) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", false
	}
	n, err := net.LookupPort("tcp", port)
	if err != nil || n == 0 {
		return "", false
	}
	if strings.EqualFold(host, "localhost") {
		if a, err := net.ResolveTCPAddr("tcp", net.JoinHostPort(host, "0")); err == nil {
			host = a.IP.String()
		}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return netip.AddrPortFrom(ip.Unmap(), uint16(n)).String(), true
	}
	return net.JoinHostPort(host, strconv.Itoa(n)), true
}
