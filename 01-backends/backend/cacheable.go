package backend

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// TimeFormat is how /cacheable writes the moment it answered: to the
// microsecond, so that two answers made apart tell themselves apart, and
// fixed in width, so that every answer has the same length.
const TimeFormat = "15:04:05.000000"

// cacheable answers /cacheable/{seconds} with Cache-Control: max-age set
// to that many seconds: the one answer of this service that a cache in
// front may keep. Its body names the backend and the moment it answered,
// so the same body twice is one answer given twice, the second time by
// the cache.
func cacheable(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("seconds"))
		if !plainNumber(r.PathValue("seconds")) || err != nil || n < 0 || n > MaxAge {
			badRequest(w, "max-age %q: want whole seconds from 0 to %d", r.PathValue("seconds"), MaxAge)
			return
		}
		w.Header().Set("Cache-Control", "max-age="+strconv.Itoa(n))
		fmt.Fprintf(w, "backend %s answered at %s, fresh for %ds\n", name, time.Now().Format(TimeFormat), n)
	}
}
