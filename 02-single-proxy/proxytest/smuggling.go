package proxytest

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// CheckSmuggling checks that a proxy closes the client's connection after
// answering a request whose body came chunked, or any HTTP/1.0 request,
// so that a request sent after its body, as a proxy in front framed it,
// reaches no backend (RFC 9112, section 6.1; see
// proxy.CloseDoubtfulFraming). front starts the proxy, in front of
// target, and returns the URL it serves at, such as http://127.0.0.1:8080
// or, for a proxy mounted under a prefix, http://127.0.0.1:8080/api. The
// backend notes the last element of each path it is sent, so a proxy may
// strip or add a prefix.
//
// It writes the requests raw on a TCP connection, as a proxy in front
// would, since Go's client never sends both a Content-Length and a
// Transfer-Encoding. The subtest "Content-Length alone" sends an HTTP/1.1
// request whose connection must be kept: so the check would see a second
// request if one were served.
func CheckSmuggling(t *testing.T, front func(t *testing.T, target *url.URL) (base string)) {
	const lastChunk = "0\r\n\r\n" // an empty body, chunked
	tests := []struct {
		name  string
		first string // the first request's path's last element: a, or hints for a 103 before the answer
		proto string // of the first request, a POST
		// body frames the body of "POST /a" and the request after it,
		// next, the one smuggled (or, with a Content-Length, simply sent).
		body func(next string) string
		keep bool // the connection is kept: the next request is served
	}{
		{"Content-Length and chunked", "a", "HTTP/1.1", func(next string) string {
			return "Content-Length: " + strconv.Itoa(len(lastChunk+next)) + "\r\nTransfer-Encoding: chunked\r\n\r\n" + lastChunk + next
		}, false},
		{"chunked alone", "a", "HTTP/1.1", func(next string) string {
			return "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + next
		}, false},
		{"Content-Length alone", "a", "HTTP/1.1", func(next string) string {
			return "Content-Length: 3\r\n\r\nabc" + next
		}, true},
		// net/http ignores the Transfer-Encoding of HTTP/1.0 and reads
		// as the body the Content-Length's bytes, the chunk's size line;
		// a proxy in front that went by the chunks forwarded next as the
		// chunk's data.
		{"HTTP/1.0, Content-Length and chunked", "a", "HTTP/1.0", func(next string) string {
			size := strconv.FormatInt(int64(len(next)), 16) + "\r\n"
			return "Connection: keep-alive\r\nContent-Length: " + strconv.Itoa(len(size)) + "\r\nTransfer-Encoding: chunked\r\n\r\n" +
				size + next + "\r\n" + lastChunk
		}, false},
		// What is left of a Transfer-Encoding on HTTP/1.0 when net/http
		// has deleted it: nothing, so every HTTP/1.0 request closes.
		{"HTTP/1.0 keep-alive", "a", "HTTP/1.0", func(next string) string {
			return "Connection: keep-alive\r\n\r\n" + next
		}, false},
		// ReverseProxy passes a backend's 1xx on, then clears the
		// header the answer is built in, a Connection: close set before
		// it included.
		{"Content-Length and chunked, a 103 first", "hints", "HTTP/1.1", func(next string) string {
			return "Content-Length: " + strconv.Itoa(len(lastChunk+next)) + "\r\nTransfer-Encoding: chunked\r\n\r\n" + lastChunk + next
		}, false},
		{"HTTP/1.0 keep-alive, a 103 first", "hints", "HTTP/1.0", func(next string) string {
			return "Connection: keep-alive\r\nContent-Length: 0\r\n\r\n" + next
		}, false},
		{"Content-Length alone, a 103 first", "hints", "HTTP/1.1", func(next string) string {
			return "Content-Length: 3\r\n\r\nabc" + next
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var back recorder
			srv := httptest.NewServer(&back)
			defer srv.Close()
			target, err := url.Parse(srv.URL)
			require.NoError(t, err)
			base, err := url.Parse(front(t, target))
			require.NoError(t, err)

			next := "GET " + base.Path + "/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
			answers, closed := Exchange(t, base.Host, "POST "+base.Path+"/"+tt.first+" "+tt.proto+"\r\nHost: x\r\n"+tt.body(next))
			require.NotEmpty(t, answers, "the proxy must answer the first request")
			want := []string{"POST " + tt.first}
			if tt.keep {
				want = append(want, "GET smuggled")
				assert.Equal(t, 2, len(answers), "a request with a Content-Length keeps its connection: the next request on it must be served")
				assert.False(t, answers[0].Close, "the answer to a request with a Content-Length must keep the connection (no Connection: close)")
			} else {
				assert.Equal(t, 1, len(answers), "after a chunked or an HTTP/1.0 request the proxy must answer and close; it served the bytes after the body as it read it as a request, which a proxy in front took for body")
				assert.True(t, answers[0].Close, "the answer to a chunked or an HTTP/1.0 request must say Connection: close")
				assert.True(t, closed, "the proxy must close the connection after answering a chunked or an HTTP/1.0 request")
			}
			if diff := cmp.Diff(want, back.seen()); diff != "" {
				t.Errorf("requests the backend received, by the last element of their path (-want +got):\n%s", diff)
			}
		})
	}
}

// Exchange writes raw on a new connection to addr and reads the answers
// (passing over 1xx ones) until the server closes the connection or two
// have come. closed says the server closed it. Each read waits at most
// Timeout: a bound on a check that would hang, not a timing.
func Exchange(t *testing.T, addr, raw string) (answers []*http.Response, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(Timeout)))
	_, err = io.WriteString(c, raw)
	require.NoError(t, err)
	br := bufio.NewReader(c)
	for len(answers) < 2 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return answers, err == io.EOF || err == io.ErrUnexpectedEOF
		}
		if resp.StatusCode < 200 {
			continue
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		answers = append(answers, resp)
	}
	return answers, false
}

// recorder is a backend that notes the method and the last element of
// the path of each request. To a request for .../hints it sends a 103
// Early Hints before its answer.
type recorder struct {
	mu       sync.Mutex
	requests []string
}

func (b *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.requests = append(b.requests, r.Method+" "+path.Base(r.URL.Path))
	b.mu.Unlock()
	io.Copy(io.Discard, r.Body)
	if path.Base(r.URL.Path) == "hints" {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
	}
}

func (b *recorder) seen() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.requests)
}
