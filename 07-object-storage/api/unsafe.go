package api

import (
	"fmt"
	"net/http"
	"strings"
)

// refuseUnsafe answers, and reports true for, a PUT or a DELETE that
// asks for what the store cannot do, rather than doing something else:
//
//   - ?version=N: a version is never changed or removed. A DELETE adds a
//     delete marker to the key; doing that for "DELETE version 3" would
//     hide the latest version instead. 400. So is any other parameter,
//     since neither method takes one: ignoring ?versionId=3 (S3's name
//     for it) would do just that.
//   - If-Match, If-None-Match ("*": create only) or If-Unmodified-Since:
//     an origin server must evaluate them before it acts (RFC 9110,
//     section 13.2.1), and the metadata server cannot check and commit
//     in one step, so a check here could pass and be stale by the
//     commit. Ignoring them would overwrite what the client meant to
//     protect. 501 (Not Implemented). On any of the header's field
//     lines: a list may come in several (RFC 9110, section 5.3), and an
//     empty first line must not hide a precondition on the next.
func refuseUnsafe(w http.ResponseWriter, r *http.Request) bool {
	q := r.URL.Query()
	if q.Has("version") {
		http.Error(w, r.Method+" takes no version: versions are never changed or removed", http.StatusBadRequest)
		return true
	}
	for name := range q {
		http.Error(w, fmt.Sprintf("%s takes no query parameters, not %q", r.Method, name), http.StatusBadRequest)
		return true
	}
	for _, h := range []string{"If-Match", "If-None-Match", "If-Unmodified-Since"} {
		if strings.TrimSpace(strings.Join(r.Header.Values(h), "")) != "" {
			http.Error(w, h+" on a "+r.Method+" is not supported: the store cannot check it and write in one step", http.StatusNotImplemented)
			return true
		}
	}
	return false
}
