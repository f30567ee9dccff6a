package balancer

import "time"

// unkeyed picks a backend for a request that has no key (the header or
// cookie the key is read from is missing), for the balancers that hash
// keys. Hashing the empty string would send every such request to one
// backend; instead they are spread by smooth weighted round robin over
// the live backends, as nginx's hash and hash consistent do (both call
// their round robin when the key is empty, ngx_http_upstream_hash_module)
// and as HAProxy does for balance hdr() and url_param when the header or
// parameter is absent (its configuration manual, "balance"). Bounded
// loads passes full, its backends at capacity, for the round to skip.
func unkeyed(p *Pool, now time.Time, full func(i int) bool) (string, error) {
	i, ok := nextSmooth(p, now, full)
	if !ok {
		return "", errAllDown
	}
	p.Picked(i, now)
	return p.Peers[i].ID, nil
}
