package middleware_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/06-middleware/onion"
)

const gatewayTimeout = "gateway timeout: the upstream did not answer in time\n"

func TestTimeoutCancelsTheUpstreamAndAnswers504(t *testing.T) {
	cancelled := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // a backend that never answers in time
		close(cancelled)
	}))
	defer upstream.Close()
	target, err := url.Parse(upstream.URL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	gw := httptest.NewServer(middleware.Timeout(50 * time.Millisecond)(proxy))
	defer gw.Close()

	resp, err := http.Get(gw.URL + "/slow")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusGatewayTimeout, resp.StatusCode, "not the proxy's 502")
	assert.Equal(t, gatewayTimeout, string(body))
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream request was not cancelled")
	}
}

func TestTimeoutHandlerThatGivesUpSilently(t *testing.T) {
	h := middleware.Timeout(time.Millisecond)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	rec := get(h, "/")
	assert.Equal(t, http.StatusGatewayTimeout, rec.Code)
	assert.Equal(t, gatewayTimeout, rec.Body.String())
}

func TestTimeoutLetsAFastAnswerThrough(t *testing.T) {
	var deadline time.Time
	h := middleware.Timeout(time.Hour)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deadline, _ = r.Context().Deadline()
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "tea")
	}))
	rec := get(h, "/")
	assert.Equal(t, http.StatusTeapot, rec.Code)
	assert.Equal(t, "tea", rec.Body.String())
	assert.False(t, deadline.IsZero(), "the request's context must carry the deadline")
}

// TestTimeoutStreamFlushedBeforeWriting: a stream that flushes its header
// before any byte of body has sent its 200; when the deadline passes, the
// stream is cut, not finished with a 504's text inside the 200 (and the
// server logs no superfluous WriteHeader). The deadline passes just after
// the flush (a manual one: a real 50 ms one could pass before it on a
// slow machine).
func TestTimeoutStreamFlushedBeforeWriting(t *testing.T) {
	var serverLog logBuffer
	flushed := make(chan struct{})
	d := newManualDeadline()
	gw := httptest.NewUnstartedServer(withManualDeadline(d, middleware.Timeout(time.Hour)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush: %v", err)
		}
		close(flushed)
		d.pass()
		<-r.Context().Done()
	}))))
	gw.Config.ErrorLog = log.New(&serverLog, "", 0)
	gw.Start()
	defer gw.Close()

	resp, err := http.Get(gw.URL + "/events")
	require.NoError(t, err)
	<-flushed // the header came before the deadline, with the flush
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.Empty(t, string(body), "no 504 text inside the stream")
	gw.Close() // the handler has returned: its log is complete
	assert.NotContains(t, serverLog.String(), "superfluous")
}

// TestTimeout504DropsTheHandlersHeader: the 504 keeps the fields set
// further out (the request id) and drops the handler's.
func TestTimeout504DropsTheHandlersHeader(t *testing.T) {
	h := onion.Chain{middleware.RequestID(ids()), middleware.Timeout(time.Millisecond)}.Then(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			setHandlerFields(w)
			<-r.Context().Done()
		}))
	rec := get(h, "/")
	assert.Equal(t, http.StatusGatewayTimeout, rec.Code)
	want := http.Header{
		"Content-Type":           {"text/plain; charset=utf-8"},
		"X-Content-Type-Options": {"nosniff"},
		"X-Request-Id":           {"id-1"},
	}
	if diff := cmp.Diff(want, rec.Result().Header); diff != "" {
		t.Errorf("the 504's header (-want +got):\n%s", diff)
	}
}

// The fields set further out survive the 504, however many: CORS's Vary
// and Access-Control-Expose-Headers (a page's script can read the 504),
// and fields past the few the layer keeps without allocating.
func TestTimeout504KeepsTheFieldsSetFurtherOut(t *testing.T) {
	for _, extra := range []int{0, 5} {
		outer := func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for i := range extra {
					w.Header().Set(fmt.Sprintf("X-Outer-%d", i), "kept")
				}
				next.ServeHTTP(w, r)
			})
		}
		cors := middleware.CORS(middleware.CORSConfig{Origins: []string{"https://app.example"}})
		h := onion.Chain{outer, cors, middleware.Timeout(time.Millisecond)}.Then(
			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				setHandlerFields(w)
				w.Header().Add("Vary", "Accept-Encoding")
				<-r.Context().Done()
			}))
		got := get(h, "/", "Origin", "https://app.example").Result().Header
		assert.Equal(t, []string{"Origin"}, got.Values("Vary"), "%d extra fields", extra)
		assert.Equal(t, []string{"https://app.example"}, got.Values("Access-Control-Allow-Origin"))
		assert.Equal(t, []string{middleware.HeaderRequestID}, got.Values("Access-Control-Expose-Headers"))
		for i := range extra {
			assert.Equal(t, "kept", got.Get(fmt.Sprintf("X-Outer-%d", i)))
		}
		assert.Empty(t, got.Get("Set-Cookie"), "the handler's fields go")
	}
}

// TestTimeoutAnEarlyHintsIsNotTheAnswer: a 1xx (a proxy passing on its
// upstream's 103 Early Hints) goes out, and the answer is still to come:
// if the deadline passes after it, the client gets the 504, whether the
// handler then answers late or gives up without a word.
func TestTimeoutAnEarlyHintsIsNotTheAnswer(t *testing.T) {
	for name, late := range map[string]func(http.ResponseWriter){
		"answers late":  func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) },
		"gives up":      func(http.ResponseWriter) {},
		"writes a body": func(w http.ResponseWriter) { io.WriteString(w, "late") },
	} {
		t.Run(name, func(t *testing.T) {
			d := newManualDeadline()
			gw := httptest.NewServer(withManualDeadline(d, middleware.Timeout(time.Hour)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Link", "</style.css>; rel=preload")
				w.WriteHeader(http.StatusEarlyHints)
				d.pass()
				<-r.Context().Done()
				late(w)
			}))))
			defer gw.Close()

			resp, err := http.Get(gw.URL)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, http.StatusGatewayTimeout, resp.StatusCode)
			assert.Equal(t, gatewayTimeout, string(body))
		})
	}
}

// A handler that writes after the deadline is told so: its Write (and a
// flush) fails with http.ErrHandlerTimeout, as a hijack then does
// (TestTimeoutRefusesAHijackAfterTheDeadline), and nothing of it reaches
// the client, which gets the 504 alone.
func TestTimeoutRefusesAWriteAfterTheDeadline(t *testing.T) {
	var writeErr, flushErr error
	h := middleware.Timeout(20 * time.Millisecond)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		_, writeErr = w.Write([]byte("too late"))
		flushErr = http.NewResponseController(w).Flush()
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	assert.ErrorIs(t, writeErr, http.ErrHandlerTimeout)
	assert.ErrorIs(t, flushErr, http.ErrHandlerTimeout)
	assert.Equal(t, http.StatusGatewayTimeout, rec.Code)
	assert.Equal(t, gatewayTimeout, rec.Body.String())
}
