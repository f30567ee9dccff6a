package ring

import (
	"fmt"
	"hash/crc32"
	"strings"
	"testing"
)

// TestCRC32IsCRC32: reading the string in place gives the standard
// checksum, for keys shorter and longer than any buffer.
func TestCRC32IsCRC32(t *testing.T) {
	for i := range 200 {
		key := fmt.Sprintf("key-%d-%s", i, strings.Repeat("x", i))
		if got, want := CRC32(key), mix(uint64(crc32.ChecksumIEEE([]byte(key)))); got != want {
			t.Fatalf("CRC32(%q) = %x, want the mixed IEEE checksum %x", key, got, want)
		}
	}
}
