package proxytest

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Wrong answers to chapter 02's first exercise, each a mistake a learner
// makes. CheckErrorHandler must fail each one, in the subtests named,
// with a message that names the mistake.
var wrongErrorHandlers = map[string]struct {
	h       func(http.ResponseWriter, *http.Request, error)
	failed  []string // the subtests that must fail
	message string   // what their failure must say
}{
	// The body is the error's text, which names the backend only when
	// the error does: a refused dial's does, a hang-up's (EOF) does not.
	"echoes the error": {
		h: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, err.Error(), http.StatusBadGateway)
		},
		failed:  []string{"hangs_up/DELETE", "hangs_up/GET", "hangs_up/POST"},
		message: "the body must say which backend",
	},
	// JSON written without setting Content-Type: Go sniffs the bytes
	// and labels it text/plain.
	"JSON labelled by sniffing": {
		h: func(w http.ResponseWriter, r *http.Request, err error) {
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, "{\"error\":\"bad gateway\",\"backend\":%q}\n", r.URL.Host)
		},
		failed: []string{"hangs_up/DELETE", "hangs_up/GET", "hangs_up/POST",
			"refused/DELETE", "refused/GET", "refused/POST"},
		message: "the body is JSON, so its Content-Type must say so",
	},
	// The body first: the first Write sends 200 OK, and the status
	// written after it is ignored.
	"status after the body": {
		h: func(w http.ResponseWriter, r *http.Request, err error) {
			fmt.Fprintf(w, "bad gateway: %s\n", r.URL.Host)
			w.WriteHeader(http.StatusBadGateway)
		},
		failed: []string{"hangs_up/DELETE", "hangs_up/GET", "hangs_up/POST",
			"refused/DELETE", "refused/GET", "refused/POST"},
		message: "and before it wrote the body?",
	},
}

// TestCheckErrorHandlerCatchesWrongAnswers runs CheckErrorHandler on each
// wrong answer in a child test process, since the check must fail, and
// compares the subtests that failed and what they said.
func TestCheckErrorHandlerCatchesWrongAnswers(t *testing.T) {
	if name := os.Getenv("PROXYTEST_WRONG_ERROR_HANDLER"); name != "" {
		CheckErrorHandler(t, wrongErrorHandlers[name].h)
		return
	}
	for name, wrong := range wrongErrorHandlers {
		t.Run(name, func(t *testing.T) {
			out, err := runWrongAnswer("TestCheckErrorHandlerCatchesWrongAnswers", "PROXYTEST_WRONG_ERROR_HANDLER", name)
			require.Error(t, err, "CheckErrorHandler passed a wrong ErrorHandler (%s):\n%s", name, out)
			var failed []string
			for _, m := range regexp.MustCompile(`--- FAIL: TestCheckErrorHandlerCatchesWrongAnswers/(\S+)`).FindAllStringSubmatch(string(out), -1) {
				failed = append(failed, m[1])
			}
			sort.Strings(failed)
			if diff := cmp.Diff(wrong.failed, failed); diff != "" {
				t.Errorf("failed subtests (-want +got):\n%s\n%s", diff, out)
			}
			assert.Contains(t, string(out), wrong.message)
		})
	}
}

// Wrong answers to chapter 02's second exercise. CheckTransport must fail
// each, and its message must point at the setting that is wrong (and not
// say what the others' do: unwanted).
var wrongTransports = map[string]struct {
	transport         func() http.RoundTripper
	message, unwanted []string
	stalls            bool // the check waits for its timeout: shortened here
}{
	// http.DefaultTransport keeps 2 idle connections per host.
	"the default": {
		transport: func() http.RoundTripper { return http.DefaultTransport.(*http.Transport).Clone() },
		message:   []string{"concurrent requests opened", "look at MaxIdleConnsPerHost"},
	},
	// Room for 256 per backend, but for 10 in all: the total limit wins.
	"a small MaxIdleConns": {
		transport: func() http.RoundTripper {
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.MaxIdleConnsPerHost = 256
			tr.MaxIdleConns = 10
			return tr
		},
		message: []string{"concurrent requests opened", "MaxIdleConns, those kept for all backends together"},
	},
	// Room to keep 32 idle, but only 8 at a time in use: the other 24
	// requests of a round wait for a connection that is never freed,
	// since the backend holds each request until the round's 32 arrive.
	// The check waited for its Timeout, 20 s, to say so; it names the
	// limit at once, and says nothing of requests that did not arrive.
	"a small MaxConnsPerHost": {
		transport: func() http.RoundTripper {
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.MaxIdleConnsPerHost = 32
			tr.MaxConnsPerHost = 8
			return tr
		},
		message:  []string{"MaxConnsPerHost is 8", "fewer than the 32 concurrent requests"},
		unwanted: []string{"reached the backend at once", "concurrent requests opened"},
	},
	// The same limit inside a RoundTripper of one's own, which the check
	// cannot look into: a round stalls until the check's timeout, and the
	// message says where the requests stopped and which setting to read.
	"a small MaxConnsPerHost, wrapped": {
		transport: func() http.RoundTripper {
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.MaxIdleConnsPerHost = 32
			tr.MaxConnsPerHost = 8
			return wrapper{tr}
		},
		message: []string{"only 8 of 32 concurrent requests reached the backend at once, though all 32 were handed to the RoundTripper",
			"look at MaxConnsPerHost in every Transport your RoundTripper uses"},
		unwanted: []string{"did not pass them on"},
		stalls:   true,
	},
	// A RoundTripper that lets 8 requests at a time through to a
	// Transport that would keep them all: the stall is the RoundTripper's,
	// and the message says so rather than point at MaxConnsPerHost.
	"a RoundTripper that holds requests back": {
		transport: func() http.RoundTripper {
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.MaxIdleConnsPerHost = 32
			return limited{tr, make(chan struct{}, 8)}
		},
		stalls:   true,
		message:  []string{"only 8 of 32 concurrent requests reached the backend", "it passed only 8 to an http.Transport", "hold requests back"},
		unwanted: []string{"MaxConnsPerHost"},
	},
}

// limited lets as many requests at a time through to next as slots holds.
type limited struct {
	next  http.RoundTripper
	slots chan struct{}
}

func (l limited) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case l.slots <- struct{}{}:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	defer func() { <-l.slots }()
	return l.next.RoundTrip(r)
}

// wrapper is a RoundTripper of one's own around a Transport, such as a
// learner might write to log or to add a header.
type wrapper struct{ next http.RoundTripper }

func (w wrapper) RoundTrip(r *http.Request) (*http.Response, error) { return w.next.RoundTrip(r) }

// TestCheckTransportCatchesWrongAnswers runs CheckTransport on each wrong
// Transport in a child test process, since the check must fail, and
// checks what the failure says.
func TestCheckTransportCatchesWrongAnswers(t *testing.T) {
	if name := os.Getenv("PROXYTEST_WRONG_TRANSPORT"); name != "" {
		if wrongTransports[name].stalls {
			roundTimeout = 3 * time.Second // fails either way; long enough for 32 requests to reach the proxy
		}
		CheckTransport(t, wrongTransports[name].transport)
		return
	}
	for name, wrong := range wrongTransports {
		t.Run(name, func(t *testing.T) {
			out, err := runWrongAnswer("TestCheckTransportCatchesWrongAnswers", "PROXYTEST_WRONG_TRANSPORT", name)
			require.Error(t, err, "CheckTransport passed a wrong Transport (%s):\n%s", name, out)
			for _, m := range wrong.message {
				assert.Contains(t, string(out), m)
			}
			for _, m := range wrong.unwanted {
				assert.NotContains(t, string(out), m)
			}
		})
	}
}

// A MaxConnsPerHost that leaves room for a round, 32 exactly, is a right
// answer: only one below it fails at once.
func TestCheckTransportTakesAMaxConnsPerHostOfARound(t *testing.T) {
	CheckTransport(t, func() http.RoundTripper {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 32
		tr.MaxConnsPerHost = 32
		return tr
	})
}

// Wrong answers to chapter 02's third exercise. CheckBackendHost must fail
// each, with a message that names what the backend did not get.
var wrongBackendHosts = map[string]struct {
	newProxy func(target *url.URL) http.Handler
	message  string
}{
	// The exercise's starting point: Host passes through as the client
	// sent it.
	"the client's Host": {
		newProxy: func(target *url.URL) http.Handler { return httputil.NewSingleHostReverseProxy(target) },
		message:  "the backend must see its own host name in the Host header",
	},
	// Rewrite with SetURL alone: the target's Host, but no X-Forwarded-For.
	"no X-Forwarded-For": {
		newProxy: func(target *url.URL) http.Handler {
			return &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) }}
		},
		message: "the backend must still learn the client's address from X-Forwarded-For",
	},
	// A Director that replaces the URL with the target's, losing the
	// request's path and query.
	"the target's URL for every request": {
		newProxy: func(target *url.URL) http.Handler {
			return &httputil.ReverseProxy{Director: func(r *http.Request) {
				r.URL, r.Host = target, target.Host
			}}
		},
		message: "the path must be forwarded",
	},
}

// TestCheckBackendHostCatchesWrongAnswers runs CheckBackendHost on each
// wrong proxy in a child test process, since the check must fail, and
// checks what the failure says.
func TestCheckBackendHostCatchesWrongAnswers(t *testing.T) {
	if name := os.Getenv("PROXYTEST_WRONG_BACKEND_HOST"); name != "" {
		CheckBackendHost(t, wrongBackendHosts[name].newProxy)
		return
	}
	for name, wrong := range wrongBackendHosts {
		t.Run(name, func(t *testing.T) {
			out, err := runWrongAnswer("TestCheckBackendHostCatchesWrongAnswers", "PROXYTEST_WRONG_BACKEND_HOST", name)
			require.Error(t, err, "CheckBackendHost passed a wrong proxy (%s):\n%s", name, out)
			assert.Contains(t, string(out), wrong.message)
		})
	}
}

// runWrongAnswer runs the test named test again in a child process, with
// env set to the wrong answer's name: a check that must fail cannot fail
// inside the test that wants it to. It returns the child's output and its
// error (nil if the check passed the wrong answer).
func runWrongAnswer(test, env, name string) ([]byte, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env+"="+name)
	return cmd.CombinedOutput()
}
