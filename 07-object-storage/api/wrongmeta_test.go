package api_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/07-object-storage/api"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/meta"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

// An API server started with -meta naming another server (a data
// server here; a mistyped port does the same) answers 502 and says the
// metadata URL is wrong, and logs it: it answered 404, "Not Found: 404
// page not found", as if the object did not exist, to reads and writes
// alike.
func TestAnAPIServerWithAWrongMetaURLAnswers502(t *testing.T) {
	cl := storetest.New(t, 2, meta.Options{})
	var logs lockedBuffer
	c := client.New(client.Options{MetaURL: cl.Data[0].URL(), TempDir: t.TempDir(), Log: storetest.Quiet})
	srv := httptest.NewServer(api.New(c, 1024, slog.New(slog.NewTextHandler(&logs, nil))))
	t.Cleanup(srv.Close)
	f := &fixture{Cluster: cl, url: srv.URL}

	for _, method := range []string{http.MethodGet, http.MethodPut} {
		resp, body := f.do(t, method, "/objects/k", strings.NewReader("content"))
		assert.Equal(t, http.StatusBadGateway, resp.StatusCode, method)
		assert.Equal(t, client.ErrNotMetadataServer.Error()+"\n", body, method)
	}
	assert.Contains(t, logs.String(), "not the metadata server")
}
