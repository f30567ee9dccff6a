package main

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gocourse/gateway/07-object-storage/meta"
)

// printLine prints one version as put, get FILE, rm, ls and versions do:
//
//	VERSION  SIZE  CREATED  SHA256  KEY
//
// with the size in bytes, the creation time in UTC (RFC 3339) and the
// first 12 hex digits of the content's SHA-256. A delete marker has "-"
// for its size and "deleted" for its hash. The key comes last: it may
// contain spaces, never a newline (meta.ValidateKey), so everything
// after the fourth column's two spaces is the key.
func printLine(w io.Writer, v meta.Version) {
	size, hash := fmt.Sprint(v.Size), v.Hash.Short()
	if v.Deleted {
		size, hash = "-", "deleted"
	}
	fmt.Fprintf(w, "%4d  %10s  %s  %-12s  %s\n", v.Number, size, created(v), hash, v.Key)
}

// printStat prints a version one field a line, "name: value", the hash in
// full, the content type ("-" if none was given) and the data servers
// that hold the content, live ones first.
func printStat(w io.Writer, v meta.Version) {
	fmt.Fprintf(w, "key:      %s\n", v.Key)
	fmt.Fprintf(w, "version:  %d\n", v.Number)
	fmt.Fprintf(w, "size:     %d\n", v.Size)
	fmt.Fprintf(w, "type:     %s\n", cmp.Or(v.ContentType, "-"))
	fmt.Fprintf(w, "sha256:   %s\n", v.Hash)
	fmt.Fprintf(w, "created:  %s\n", created(v))
	fmt.Fprintf(w, "replicas: %s\n", strings.Join(v.Replicas, " "))
}

func created(v meta.Version) string { return v.Created.UTC().Format(time.RFC3339) }
