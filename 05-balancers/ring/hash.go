package ring

import (
	"errors"
	"fmt"
	"hash/crc32"
)

// Hash maps a string to a point on the ring. Every process that must agree
// on where a key lives (two gateways, or stage 07's servers) must use the
// same function, so it may not be seeded per process as hash/maphash is.
type Hash func(s string) uint64

// FNV is the default Hash: 64-bit FNV-1a followed by the avalanche step of
// MurmurHash3 (fmix64).
//
// FNV-1a alone mixes the last bytes of its input into the high bits poorly,
// and virtual node names differ only in their last bytes ("A#1", "A#2"):
// without the final step their points bunch together on the ring and the
// spread of keys suffers. It allocates nothing.
func FNV(s string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime
	}
	return mix(h)
}

// CRC32 is the hash groupcache's consistenthash uses by default (CRC-32,
// IEEE polynomial), widened to 64 bits by the same avalanche step. It
// allocates nothing.
func CRC32(s string) uint64 {
	// crc32.ChecksumIEEE([]byte(s)) would allocate for keys over 32 bytes
	// (the slice escapes into the assembly); the bytewise table method
	// reads the string in place and gives the same checksum.
	tab := crc32.IEEETable
	sum := ^uint32(0)
	for i := 0; i < len(s); i++ {
		sum = tab[byte(sum)^s[i]] ^ sum>>8
	}
	return mix(uint64(^sum))
}

// mix is MurmurHash3's 64-bit finalizer: every input bit affects every
// output bit with probability close to 1/2.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// ErrUnknownHash is returned by ParseHash for a name it does not know.
var ErrUnknownHash = errors.New("unknown hash")

// ParseHash returns the Hash called name, for configuration files and
// flags: "fnv" (the default, also for "") or "crc32".
func ParseHash(name string) (Hash, error) {
	switch name {
	case "", "fnv":
		return FNV, nil
	case "crc32":
		return CRC32, nil
	}
	return nil, fmt.Errorf("%w %q: want fnv or crc32", ErrUnknownHash, name)
}
