package middleware_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/06-middleware/onion"
)

func TestRecoverAnswers500AndTheServerKeepsServing(t *testing.T) {
	var logs logBuffer
	mux := http.NewServeMux()
	mux.HandleFunc("/panic", func(w http.ResponseWriter, r *http.Request) { panic("nil map somewhere") })
	mux.HandleFunc("/fine", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "fine") })
	srv := httptest.NewServer(onion.Chain{middleware.Recover(logs.Logger()), middleware.RequestID(ids())}.Then(mux))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/panic")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	assert.Equal(t, "internal server error: the gateway failed while handling this request (request id id-1); it has been logged\n", string(body))
	assert.Equal(t, "id-1", resp.Header.Get(middleware.HeaderRequestID))

	resp, err = http.Get(srv.URL + "/fine")
	require.NoError(t, err, "the server must survive the panic")
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "fine", string(body))

	entries := logs.Entries(t)
	require.Len(t, entries, 1)
	assert.Equal(t, "nil map somewhere", entries[0]["panic"])
	assert.Equal(t, "id-1", entries[0]["request_id"])
	assert.Contains(t, entries[0]["stack"], "recover_test.go", "the stack must show where the panic happened")
}

func TestRecoverPassesOnErrAbortHandler(t *testing.T) {
	var logs logBuffer
	h := middleware.Recover(logs.Logger())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() { get(h, "/") })
	assert.Empty(t, logs.String(), "an abort is not a bug: nothing to log")
}

func TestRecoverAbortsAResponseAlreadyStarted(t *testing.T) {
	for name, start := range map[string]func(http.ResponseWriter){
		"by a body":               func(w http.ResponseWriter) { io.WriteString(w, "half a resp") },
		"by a 200 header alone":   func(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) },
		"by a flushed 200 header": func(w http.ResponseWriter) { http.NewResponseController(w).Flush() },
	} {
		t.Run(name, func(t *testing.T) {
			var logs logBuffer
			h := middleware.Recover(logs.Logger())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				start(w)
				panic("boom")
			}))
			assert.PanicsWithValue(t, http.ErrAbortHandler, func() { get(h, "/") },
				"a 500 cannot follow a 200: the connection must be cut instead")
			assert.Contains(t, logs.String(), "boom")
		})
	}
}

// handlerFields are fields a handler sets for its own answer; a refusal
// written instead of that answer must not carry them.
var handlerFields = map[string]string{
	"Cache-Control": "public, max-age=3600", "Set-Cookie": "session=abc", "Content-Encoding": "gzip",
}

func setHandlerFields(w http.ResponseWriter) {
	for k, v := range handlerFields {
		w.Header().Set(k, v)
	}
}

// Recover not outermost: the fields set when it began, further out, are
// on its 500, as they were (the handler's Cache-Control gone, the outer
// one back).
func TestRecover500KeepsTheFieldsSetBeforeIt(t *testing.T) {
	var logs logBuffer
	outer := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Outer", "kept")
			w.Header().Set("Cache-Control", "no-store")
			next.ServeHTTP(w, r)
		})
	}
	h := onion.Chain{outer, middleware.Recover(logs.Logger())}.Then(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			setHandlerFields(w)
			panic("boom")
		}))
	got := get(h, "/").Result().Header
	assert.Equal(t, "kept", got.Get("X-Outer"))
	assert.Equal(t, []string{"no-store"}, got.Values("Cache-Control"))
	assert.Empty(t, got.Get("Set-Cookie"))
}

// TestRecover500DropsTheHandlersHeader: the 500 keeps the request id and
// CORS's fields, and drops what the panicking handler had set.
func TestRecover500DropsTheHandlersHeader(t *testing.T) {
	var logs logBuffer
	cors := middleware.CORS(middleware.CORSConfig{Origins: []string{"https://app.example"}})
	h := onion.Chain{middleware.Recover(logs.Logger()), middleware.RequestID(ids()), cors}.Then(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			setHandlerFields(w)
			w.Header().Add(middleware.HeaderRequestID, "upstream-id")
			panic("boom")
		}))
	rec := get(h, "/", "Origin", "https://app.example")
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	want := http.Header{
		"Content-Type":                  {"text/plain; charset=utf-8"},
		"X-Content-Type-Options":        {"nosniff"},
		"X-Request-Id":                  {"id-1"},
		"Vary":                          {"Origin"},
		"Access-Control-Allow-Origin":   {"https://app.example"},
		"Access-Control-Expose-Headers": {"X-Request-Id"},
	}
	if diff := cmp.Diff(want, rec.Result().Header); diff != "" {
		t.Errorf("the 500's header (-want +got):\n%s", diff)
	}
}

// Without RequestID further in, the X-Request-Id is the client's own: one
// that is not well formed (ValidID) goes neither into the log nor into the
// 500, as RequestID would not let it.
func TestRecoverTrustsNoMalformedRequestID(t *testing.T) {
	var logs logBuffer
	h := middleware.Recover(logs.Logger())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") }))
	rec := get(h, "/", middleware.HeaderRequestID, "<script>alert(1)</script>")
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.Empty(t, rec.Header().Values(middleware.HeaderRequestID))
	assert.Equal(t, "internal server error: the gateway failed while handling this request; it has been logged\n", rec.Body.String())
	entries := logs.Entries(t)
	require.Len(t, entries, 1)
	assert.Equal(t, "", entries[0]["request_id"])
}
