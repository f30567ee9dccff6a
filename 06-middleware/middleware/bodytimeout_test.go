package middleware_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/06-middleware/middleware/bodytest"
)

// A client that stops sending its body gets 408 on a closed connection,
// whatever the handler then answers: a proxy's 502 for a body that broke,
// or nothing at all. The server lets the silent client go at once,
// instead of waiting to discard the rest of its body.
func TestBodyTimeoutIs408(t *testing.T) {
	for name, h := range map[string]func(t *testing.T) http.HandlerFunc{
		"handler answers 502": func(t *testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				if _, err := io.ReadAll(r.Body); err != nil {
					assert.ErrorIs(t, err, middleware.ErrBodyTimeout)
					w.Header().Set("Set-Cookie", "session=abc") // a proxy copies its upstream's
					w.Header().Set("Cache-Control", "public, max-age=3600")
					http.Error(w, "bad gateway: "+err.Error(), http.StatusBadGateway)
					return
				}
				w.WriteHeader(http.StatusCreated)
			}
		},
		"handler answers nothing": func(*testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { io.ReadAll(r.Body) }
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(middleware.RequestID(nil)(middleware.BodyTimeout(50 * time.Millisecond)(h(t))))
			t.Cleanup(srv.Close)
			conn, resp := bodytest.StalledPutConn(t, srv.URL, "/upload", "", make([]byte, 1000), 100)
			body, _ := io.ReadAll(resp.Body)
			assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode, string(body))
			assert.True(t, resp.Close, "the rest of the body will not be read")
			assert.NotEmpty(t, resp.Header.Get(middleware.HeaderRequestID), "set further out: kept")
			assert.Empty(t, resp.Header.Values("Set-Cookie"), "the handler's: dropped")
			assert.Empty(t, resp.Header.Values("Cache-Control"))
			assert.Contains(t, string(body), "request body timeout")
			_, err := conn.Read(make([]byte, 1))
			assert.ErrorIs(t, err, io.EOF, "the server closed the connection (not the test's bound)")
		})
	}
}

// TestBodyTimeoutLeavesAloneARequestWithNoBodyOrNoTimeout: after <= 0
// turns the layer off, and a request without a body (http.NoBody, as the
// server gives a GET) has nothing to time: the handler gets the body it
// would have got without the layer, and a GET's answer keeps its
// connection.
func TestBodyTimeoutLeavesAloneARequestWithNoBodyOrNoTimeout(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after time.Duration
		req   *http.Request
	}{
		{"a timeout of 0", 0, httptest.NewRequest("PUT", "/upload", strings.NewReader("data"))},
		{"a negative timeout", -time.Second, httptest.NewRequest("PUT", "/upload", strings.NewReader("data"))},
		{"no body", time.Second, httptest.NewRequest("GET", "/", nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got io.ReadCloser
			h := middleware.BodyTimeout(tc.after)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r.Body
				io.WriteString(w, "ok")
			}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, tc.req)
			assert.True(t, got == tc.req.Body, "the handler got %T, not the request's own body", got)
			assert.Empty(t, rec.Header().Get("Connection"))
		})
	}
}

// A body that arrives is passed on as it is, and is never cut, however
// long the handler then takes (here three times the body timeout; the
// wait is the behaviour under test, not a synchronisation). Neither is a
// body read to its end by a layer further out (ParseForm) before this one.
// The handler reads only once the client has written the whole body
// (httptrace's WroteRequest): a client paused mid-body for longer than
// the timeout, on a loaded machine, would be cut, rightly.
func TestBodyTimeoutNeverCutsACompleteBody(t *testing.T) {
	slow := func(sent <-chan struct{}, read func(r *http.Request) (int, error)) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-sent:
			case <-time.After(10 * time.Second): // a bound on a hang, not a wait
				t.Error("the client did not write its request within 10 s")
			}
			n, err := read(r)
			assert.NoError(t, err)
			<-time.After(150 * time.Millisecond)
			assert.NoError(t, r.Context().Err(), "the request was cancelled")
			fmt.Fprintf(w, "%d bytes", n)
		})
	}
	readAll := func(r *http.Request) (int, error) { b, err := io.ReadAll(r.Body); return len(b), err }
	sent := make(chan struct{})
	srv := httptest.NewServer(middleware.BodyTimeout(50 * time.Millisecond)(slow(sent, readAll)))
	t.Cleanup(srv.Close)
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { close(sent) }})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader(strings.Repeat("y", 5000)))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "5000 bytes", string(body))

	parsed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm() // reads the body to its end, before the layer, with no deadline
		middleware.BodyTimeout(50*time.Millisecond)(slow(sent, readAll)).ServeHTTP(w, r)
	})
	srv2 := httptest.NewServer(parsed)
	t.Cleanup(srv2.Close)
	resp, err = http.Post(srv2.URL, "application/x-www-form-urlencoded", strings.NewReader("a=1&b=2"))
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, string(body))

	resp, err = http.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// A body read to its end further out (ParseForm), and a handler that
// answers from the form without touching the body, slowly, or an outer
// layer slow after it: the layer sets no deadline under net/http's own
// read of the connection, which would cancel this request and every
// later one on the connection. Also when the form is chunked and read
// through MaxBody's reader (which cannot tell that the body ended), and
// when the client waited for "100 Continue" and the handler wrote
// nothing (so the layer saw no answer).
func TestAnAnswerToABodyReadFurtherOutIsNeverCut(t *testing.T) {
	slowAnswer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		<-time.After(150 * time.Millisecond)
		fmt.Fprintf(w, "a=%s, %v", r.Form.Get("a"), r.Context().Err())
	})
	for name, tc := range map[string]struct {
		inner  http.Handler
		after  bool // the outer layer answers, slowly, after the layer
		body   io.Reader
		expect bool
	}{
		"form":                         {inner: middleware.BodyTimeout(50 * time.Millisecond)(slowAnswer), body: strings.NewReader("a=1")},
		"chunked form through MaxBody": {inner: middleware.MaxBody(1 << 20)(middleware.BodyTimeout(50 * time.Millisecond)(slowAnswer)), body: io.MultiReader(strings.NewReader("a=1"))},
		"expects 100-continue, handler writes nothing": {
			inner: middleware.BodyTimeout(50 * time.Millisecond)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})),
			after: true, body: strings.NewReader("a=1"), expect: true},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost {
					fmt.Fprintf(w, "next: %v", r.Context().Err())
					return
				}
				r.ParseForm()
				tc.inner.ServeHTTP(w, r)
				if tc.after {
					<-time.After(150 * time.Millisecond)
					fmt.Fprintf(w, "a=%s, %v", r.Form.Get("a"), r.Context().Err())
				}
			}))
			t.Cleanup(srv.Close)
			c := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, ExpectContinueTimeout: time.Minute}} // one connection for both
			t.Cleanup(c.CloseIdleConnections)
			get := func(resp *http.Response, err error) string {
				require.NoError(t, err)
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				return string(b)
			}
			req, err := http.NewRequest(http.MethodPost, srv.URL, tc.body)
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.expect {
				req.Header.Set("Expect", "100-continue")
			}
			reused := false
			ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }})
			next, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
			require.NoError(t, err)
			assert.Equal(t, "a=1, <nil>", get(c.Do(req)))
			assert.Equal(t, "next: <nil>", get(c.Do(next)), "the connection's context was cancelled")
			assert.True(t, reused, "the connection was not kept: the layer did not know the body had ended")
		})
	}
}

// An answer to a body the handler has not finished goes out at once, with
// "Connection: close": net/http would otherwise read the rest first, when
// the header goes out (which may be long after WriteHeader), under no
// deadline or under one that has passed by then. Complete bodies are not
// cut either way: here a 100 KiB body the handler never reads, and an
// answer whose header is followed by a pause longer than the layer's
// after (a slow upstream) before its body.
func TestAnAnswerToAnUnfinishedBodyClosesTheConnection(t *testing.T) {
	t.Run("complete body, answer paused", func(t *testing.T) {
		srv := httptest.NewServer(middleware.BodyTimeout(50 * time.Millisecond)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			<-time.After(150 * time.Millisecond)
			w.Write(make([]byte, 64<<10))
			assert.NoError(t, r.Context().Err(), "the request was cancelled")
		})))
		t.Cleanup(srv.Close)
		resp, err := http.Post(srv.URL, "application/octet-stream", strings.NewReader(strings.Repeat("x", 100<<10)))
		require.NoError(t, err)
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, int64(64<<10), n)
		assert.True(t, resp.Close)
	})
	for name, h := range map[string]http.HandlerFunc{
		"chunked body, silent client": func(w http.ResponseWriter, r *http.Request) {
			io.ReadFull(r.Body, make([]byte, 5))
			http.Error(w, "forbidden", http.StatusForbidden)
		},
		"chunked body, silent client, handler writes nothing": func(w http.ResponseWriter, r *http.Request) {
			io.ReadFull(r.Body, make([]byte, 5))
		},
	} {
		t.Run(name, func(t *testing.T) { answersAtOnce(t, h) })
	}
}

// answersAtOnce sends h the first chunk of a chunked POST, then nothing,
// and checks that the answer does not wait for the rest (the layer's
// after is a minute).
func answersAtOnce(t *testing.T, h http.HandlerFunc) {
	srv := httptest.NewServer(middleware.BodyTimeout(time.Minute)(h))
	t.Cleanup(srv.Close)
	closesAtOnce(t, srv, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
}

// closesAtOnce sends request to srv, then nothing, and checks that an
// answer comes, with "Connection: close" (ten seconds bound a hang).
func closesAtOnce(t *testing.T, srv *httptest.Server, request string) {
	t.Helper()
	conn := sendRaw(t, srv, request)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "the answer waited for the client")
	resp.Body.Close()
	assert.True(t, resp.Close)
}

// A client that sent "Expect: 100-continue" to a handler that writes
// nothing gets the final answer, not a "100 Continue" inviting a body
// nobody reads.
func TestAnUnansweredClientWaitingFor100ContinueIsNotInvited(t *testing.T) {
	srv := httptest.NewServer(middleware.BodyTimeout(time.Minute)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	t.Cleanup(srv.Close)
	conn := sendRaw(t, srv, "PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n")
	status, err := bufio.NewReader(conn).ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "HTTP/1.1 200 OK\r\n", status)
}

// A client that sent "Expect: 100-continue" and waits for it gets its
// answer at once, also when a layer further out replaced the request's
// body (http.MaxBytesReader, as chapter 07's API server does), which
// turns off net/http's own rule for such a client: it would otherwise
// read, before the header, a body the client will never send.
func TestAClientWaitingFor100ContinueGetsItsAnswer(t *testing.T) {
	for name, inner := range map[string]http.HandlerFunc{
		"small answer": func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
		},
		"flushed answer": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			http.NewResponseController(w).Flush()
		},
	} {
		for _, replaced := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, body replaced %v", name, replaced), func(t *testing.T) {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if replaced {
						r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
					}
					middleware.BodyTimeout(time.Minute)(inner).ServeHTTP(w, r)
				}))
				t.Cleanup(srv.Close)
				closesAtOnce(t, srv, "PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n")
			})
		}
	}
}

// A 1xx answer (103 Early Hints) is not the answer: it neither becomes a
// refusal nor says "Connection: close"; the final answer does. (Read
// raw: a Go client takes "Connection" out of the headers it hands on.)
func TestAnInformationalAnswerIsPassedThrough(t *testing.T) {
	srv := httptest.NewServer(middleware.BodyTimeout(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusNoContent) // the body never read
	})))
	t.Cleanup(srv.Close)
	conn := sendRaw(t, srv, "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
	tp := textproto.NewReader(bufio.NewReader(conn))
	for _, want := range []string{"HTTP/1.1 103 Early Hints", "HTTP/1.1 204 No Content"} {
		status, err := tp.ReadLine()
		require.NoError(t, err)
		require.Equal(t, want, status)
		h, err := tp.ReadMIMEHeader()
		require.NoError(t, err)
		assert.Equal(t, "</style.css>; rel=preload", h.Get("Link"), want)
		assert.Equal(t, want == "HTTP/1.1 204 No Content", h.Get("Connection") == "close", want)
	}
}

// A form-encoded DELETE that ParseForm, further out, did not read (it
// reads the body of a POST, PUT or PATCH only) still has its pauses
// bounded, and its refusal reaches a silent client.
func TestAFormNotReadFurtherOutIsStillBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		middleware.BodyTimeout(50*time.Millisecond)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "no", http.StatusUnauthorized)
		})).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	conn := sendRaw(t, srv, "DELETE / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\na=1&b=2")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "no answer")
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	_, err = conn.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF, "the server let the silent client go")
}

// A handler that takes the connection over owns its deadlines: the layer
// sets none after, so the hijacker's read waits for the client (here
// 150 ms, three times the layer's after).
func TestAHijackedConnectionKeepsNoDeadline(t *testing.T) {
	read := make(chan error, 1)
	srv := httptest.NewServer(middleware.BodyTimeout(50 * time.Millisecond)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if !assert.NoError(t, err) {
			return
		}
		go func() {
			defer conn.Close()
			io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n")
			_, err := conn.Read(make([]byte, 1))
			read <- err
		}()
	})))
	t.Cleanup(srv.Close)
	conn := sendRaw(t, srv, "POST / HTTP/1.1\r\nHost: x\r\nUpgrade: x\r\nConnection: Upgrade\r\nContent-Length: 1000\r\n\r\n0123456789")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	<-time.After(150 * time.Millisecond)
	io.WriteString(conn, "x")
	assert.NoError(t, <-read, "the layer left a deadline on a hijacked connection")
}

// A handler in full duplex answers while it reads: net/http reads nothing
// of the body before the header, and neither does the layer, so the
// header goes out while the client waits for it before sending more.
func TestAFullDuplexAnswerIsNotHeldBack(t *testing.T) {
	srv := httptest.NewServer(middleware.BodyTimeout(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		assert.NoError(t, rc.EnableFullDuplex())
		first := make([]byte, 5)
		_, err := io.ReadFull(r.Body, first)
		assert.NoError(t, err)
		w.WriteHeader(http.StatusOK)
		assert.NoError(t, rc.Flush())
		rest, err := io.ReadAll(r.Body)
		assert.NoError(t, err)
		fmt.Fprintf(w, "%s%s", first, rest)
	})))
	t.Cleanup(srv.Close)
	conn := sendRaw(t, srv, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
	br := bufio.NewReader(conn)
	status, err := br.ReadString('\n')
	require.NoError(t, err, "no header before the client sent the rest")
	fmt.Fprint(conn, "5\r\nworld\r\n0\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(io.MultiReader(strings.NewReader(status), br)), nil)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "helloworld", string(body))
	assert.False(t, resp.Close, "a full-duplex answer was made to close the connection")
}

// Over HTTP/2 the layer leaves the answer alone: there is no discard of
// the rest of the body to bound, and a Read of the body would ask a
// client that sent "Expect: 100-continue" for the body the handler is
// refusing (and wait for it).
func TestAnHTTP2AnswerAsksForNoBody(t *testing.T) {
	srv := httptest.NewUnstartedServer(middleware.BodyTimeout(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "forbidden", http.StatusForbidden)
	})))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	body, send := io.Pipe() // never written: the client waits for 100 Continue
	t.Cleanup(func() { send.Close() })
	got100 := false
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{Got100Continue: func() { got100 = true }})
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, srv.URL, body)
	require.NoError(t, err)
	req.ContentLength = 10
	req.Header.Set("Expect", "100-continue")
	c := srv.Client()
	c.Timeout = 10 * time.Second // a bound on a hang, not a wait
	c.Transport.(*http.Transport).ExpectContinueTimeout = time.Minute
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "HTTP/2.0", resp.Proto)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.False(t, got100, "the layer asked for the body")
}

// A handler that answers without reading the whole body (a refusal, a
// partial read, a closed body) gets its answer to a client that has gone
// silent mid-body: net/http reads and throws away the rest before it
// sends the header, or when it closes the body, outside this layer's
// Reads, and the layer bounds that too.
func TestAnswersWithoutTheWholeBodyArrive(t *testing.T) {
	for name, tc := range map[string]struct {
		h    http.HandlerFunc
		code int
	}{
		"unread": {func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusUnauthorized) }, http.StatusUnauthorized},
		"partly read": {func(w http.ResponseWriter, r *http.Request) {
			r.Body.Read(make([]byte, 10))
			http.Error(w, "bad", http.StatusBadRequest)
		}, http.StatusBadRequest},
		// Closing runs net/http's discard at once, and it times out: the
		// client did stall, so the 502 becomes the 408.
		"body closed": {func(w http.ResponseWriter, r *http.Request) {
			r.Body.Close()
			http.Error(w, "gone", http.StatusBadGateway)
		}, http.StatusRequestTimeout},
		"no answer at all": {func(w http.ResponseWriter, r *http.Request) {}, http.StatusOK},
		// 64 KiB goes out while the handler runs: net/http sends the
		// header, and throws the body away first, before it returns.
		"large answer, unread": {func(w http.ResponseWriter, r *http.Request) {
			w.Write(make([]byte, 64<<10))
		}, http.StatusOK},
		// A flush sends the header too, before anything was written.
		"flushed before the header": {func(w http.ResponseWriter, r *http.Request) {
			r.Body.Read(make([]byte, 10))
			http.NewResponseController(w).Flush()
			io.WriteString(w, "streaming")
		}, http.StatusOK},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(middleware.BodyTimeout(50 * time.Millisecond)(tc.h))
			t.Cleanup(srv.Close)
			conn, resp := bodytest.StalledPutConn(t, srv.URL, "/upload", "", make([]byte, 1000), 100)
			io.ReadAll(resp.Body)
			assert.Equal(t, tc.code, resp.StatusCode)
			_, err := conn.Read(make([]byte, 1))
			assert.ErrorIs(t, err, io.EOF, "the server let the silent client go")
		})
	}
}

// sendRaw connects to srv and sends request as it is, for requests a
// client library would not send (a body that stops, a chunk at a time);
// ten seconds bound a hang on the connection, they time nothing.
func sendRaw(t *testing.T, srv *httptest.Server, request string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = io.WriteString(conn, request)
	require.NoError(t, err)
	return conn
}
