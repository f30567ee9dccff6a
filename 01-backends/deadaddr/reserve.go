package deadaddr

// Reserve returns a "127.0.0.1:port" address that a test may listen on,
// close, and listen on again, any number of times, with net.Listen: for a
// test of code that opens an address and must give it back. While nothing
// listens there, connections are refused.
//
// Noting a port from a closed listener instead leaves it free between the
// test's listens, for the kernel to give to another test's server, and
// the test's next listen then fails on a port it believed free. On Linux
// Reserve binds a socket with SO_REUSEADDR that never listens and holds
// the port until t and its subtests finish. Sockets that all set
// SO_REUSEADDR may share a port so long as none of them listens
// (socket(7)), so the test's net.Listen on the address, which sets it
// too, may join; the kernel gives a request for port 0 only a port no
// socket is bound to, so no other test is given this one. Elsewhere
// (macOS and the BSDs let two sockets share an address and port only with
// SO_REUSEPORT) the port is free between listens.
func Reserve(t TB) string {
	t.Helper()
	addr, release, err := reserve()
	if err != nil {
		t.Fatalf("deadaddr: %v", err)
	}
	t.Cleanup(release)
	return addr
}
