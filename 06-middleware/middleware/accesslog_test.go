package middleware_test

import (
	"bytes"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/06-middleware/onion"
)

func TestAccessLogLogsOneLinePerRequest(t *testing.T) {
	var logs logBuffer
	h := onion.Chain{middleware.RequestID(ids()), middleware.AccessLog(logs.Logger())}.Then(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			middleware.SetUpstream(r, "A") // what a proxy does once it has picked
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte("hello"))
		}))
	get(h, "/things?secret=no")

	entries := logs.Entries(t)
	require.Len(t, entries, 1)
	want := map[string]any{
		"level": "INFO", "msg": "request", "method": "GET", "path": "/things",
		"status": 201.0, "bytes": 5.0, "upstream": "A", "request_id": "id-1", "client": "",
		"remote_addr": "192.0.2.1", // httptest.NewRequest's RemoteAddr, without its port
	}
	if diff := cmp.Diff(want, entries[0], cmpopts.IgnoreMapEntries(func(k string, _ any) bool {
		return k == "time" || k == "duration"
	})); diff != "" {
		t.Errorf("log line (-want +got):\n%s", diff)
	}
	assert.GreaterOrEqual(t, entries[0]["duration"], 0.0)
}

func TestAccessLogLogsAPanicAs500(t *testing.T) {
	var logs logBuffer
	h := onion.Chain{middleware.Recover(logs.Logger()), middleware.AccessLog(logs.Logger())}.Then(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") }))
	rec := get(h, "/")
	assert.Equal(t, http.StatusInternalServerError, rec.Code)

	var statuses []any
	for _, e := range logs.Entries(t) {
		if e["msg"] == "request" {
			statuses = append(statuses, e["status"])
		}
	}
	assert.Equal(t, []any{500.0}, statuses)
}

func TestAccessLogNeverLogsSecrets(t *testing.T) {
	var logs logBuffer
	auth, err := middleware.NewAuth(middleware.AuthConfig{APIKeys: []middleware.Credential{{ID: "alice", Secret: "s3cret-key"}}})
	require.NoError(t, err)
	h := onion.Chain{middleware.AccessLog(logs.Logger()), auth.Wrap}.Then(&ok{})
	get(h, "/a?token=s3cret-token", middleware.HeaderAPIKey, "s3cret-key")
	get(h, "/a", middleware.HeaderAPIKey, "s3cret-wrong")

	out := logs.String()
	assert.NotContains(t, out, "s3cret")
	assert.Contains(t, out, `"client":"alice"`, "the client's name, not its key, identifies it")
}

// TestAccessLogThroughTextHandler is TestAccessLogLogsOneLinePerRequest
// through middleware.TextHandler, for which AccessLog writes its line
// without a slog.Record (TestWriteAccessMatchesSlog compares the bytes):
// the same fields, with the values of the request.
func TestAccessLogThroughTextHandler(t *testing.T) {
	var logs bytes.Buffer
	h := onion.Chain{middleware.RequestID(ids()), middleware.AccessLog(slog.New(middleware.NewTextHandler(&logs, nil)))}.Then(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			middleware.SetUpstream(r, "A")
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte("hello"))
		}))
	get(h, "/things?secret=no")

	line := strings.TrimSuffix(logs.String(), "\n")
	require.NotContains(t, line, "\n", "one line")
	stamp, rest, _ := strings.Cut(line, " ")
	before, after, _ := strings.Cut(rest, " duration=")
	duration, after, _ := strings.Cut(after, " ")
	_, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(stamp, "time="))
	assert.NoError(t, err, "time")
	d, err := time.ParseDuration(duration)
	assert.NoError(t, err, "duration")
	assert.GreaterOrEqual(t, d, time.Duration(0))
	assert.Equal(t, `level=INFO msg=request method=GET path=/things status=201 bytes=5`, before)
	assert.Equal(t, `upstream=A request_id=id-1 client="" remote_addr=192.0.2.1`, after)
}

// TestAccessLogAnEarlyHintsIsNotTheStatus: a 1xx sent ahead of the answer
// (a proxy passing on a 103 Early Hints) is neither the status logged nor
// the start of the answer: a body written after it is a 200, and a panic
// after it is still Recover's 500, not an aborted response.
func TestAccessLogAnEarlyHintsIsNotTheStatus(t *testing.T) {
	for name, tc := range map[string]struct {
		then   func(http.ResponseWriter)
		status int
	}{
		"then a body":  {func(w http.ResponseWriter) { io.WriteString(w, "hello") }, http.StatusOK},
		"then a panic": {func(http.ResponseWriter) { panic("boom") }, http.StatusInternalServerError},
	} {
		t.Run(name, func(t *testing.T) {
			var logs logBuffer
			srv := httptest.NewServer(onion.Chain{middleware.Recover(logs.Logger()), middleware.AccessLog(logs.Logger())}.Then(
				http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Link", "</style.css>; rel=preload")
					w.WriteHeader(http.StatusEarlyHints)
					tc.then(w)
				})))
			defer srv.Close()
			srv.Config.ErrorLog = log.New(io.Discard, "", 0)

			resp, err := http.Get(srv.URL)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, tc.status, resp.StatusCode)
			var lines []map[string]any
			for _, e := range logs.Entries(t) {
				if e["msg"] == "request" {
					lines = append(lines, e)
				}
			}
			require.Len(t, lines, 1)
			assert.Equal(t, float64(tc.status), lines[0]["status"])
			assert.Nil(t, lines[0]["aborted"])
		})
	}
}
