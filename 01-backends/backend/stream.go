package backend

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// streamParams reads n (how many pieces) and every (the pause between them),
// and keeps the whole stream, (n-1) pauses, within MaxDelay.
// A query that does not parse is refused: r.URL.Query would drop the bad
// pair without a word, and /stream?n=3;every=1s would send the defaults.
func streamParams(r *http.Request) (n int, every time.Duration, err error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return 0, 0, fmt.Errorf("query %q: %v", r.URL.RawQuery, err)
	}
	n, every = 5, 100*time.Millisecond
	if s := q.Get("n"); s != "" {
		if n, err = strconv.Atoi(s); !plainNumber(s) || err != nil || n < 1 || n > MaxEvents {
			return 0, 0, fmt.Errorf("n %q: want a number from 1 to %d", s, MaxEvents)
		}
	}
	if s := q.Get("every"); s != "" {
		if every, err = time.ParseDuration(s); err != nil || every < 0 || every > MaxEvery {
			return 0, 0, fmt.Errorf("every %q: want a duration from 0s to %v", s, MaxEvery)
		}
	}
	// Each bound alone still lets n=1000&every=10s hold a request for
	// 2h46m, so the pauses together (the first piece goes at once) are
	// bounded as /delay's one pause is.
	if total := time.Duration(n-1) * every; total > MaxDelay {
		return 0, 0, fmt.Errorf("n=%d every %v: %v of pauses in all; want at most %v, such as n=5&every=100ms", n, every, total, MaxDelay)
	}
	return n, every, nil
}

// stream writes n lines, flushing each one, with a pause between them. With
// no Content-Length, HTTP/1.1 sends the body chunked: a proxy that buffers
// shows up as lines that arrive all at once at the end.
func stream(w http.ResponseWriter, r *http.Request) {
	emit(w, r, "text/plain; charset=utf-8", func(i, n int) string {
		return fmt.Sprintf("line %d of %d\n", i, n)
	})
}

// sse sends n server-sent events (the text/event-stream format browsers read
// with EventSource), flushing each one.
func sse(w http.ResponseWriter, r *http.Request) {
	emit(w, r, "text/event-stream", func(i, n int) string {
		return fmt.Sprintf("id: %d\ndata: event %d of %d\n\n", i, i, n)
	})
}

// emit writes n pieces made by piece, flushing after each and pausing
// between them, and stops early if the client leaves.
func emit(w http.ResponseWriter, r *http.Request, contentType string, piece func(i, n int) string) {
	n, every, err := streamParams(r)
	if err != nil {
		badRequest(w, "%v", err)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-cache")
	if r.Method == http.MethodHead {
		return // the headers are the answer; pacing unsent pieces would hold the connection
	}
	rc := http.NewResponseController(w)
	for i := 1; i <= n; i++ {
		if i > 1 {
			select {
			case <-time.After(every):
			case <-r.Context().Done():
				return
			}
		}
		if _, err := fmt.Fprint(w, piece(i, n)); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}
