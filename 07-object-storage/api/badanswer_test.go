package api_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/07-object-storage/api"
	"github.com/gocourse/gateway/07-object-storage/client"
	"github.com/gocourse/gateway/07-object-storage/storetest"
)

// A metadata server that answers, but with something the client cannot
// use (not JSON, here), is an upstream's failure: 502 Bad Gateway (RFC
// 9110, section 15.6.3, "an invalid response from an inbound server"),
// saying so, where it was a 500 "internal server error", which blames
// the API server itself.
func TestABadMetadataAnswerIs502(t *testing.T) {
	metaSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "{not json")
	}))
	t.Cleanup(metaSrv.Close)
	c := client.New(client.Options{MetaURL: metaSrv.URL, TempDir: t.TempDir(), Log: storetest.Quiet})
	srv := httptest.NewServer(api.New(c, 1024, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	f := &fixture{url: srv.URL}

	for _, method := range []string{http.MethodGet, http.MethodHead} {
		resp, body := f.do(t, method, "/objects/k", nil)
		assert.Equal(t, http.StatusBadGateway, resp.StatusCode, method)
		if method == http.MethodGet {
			assert.Equal(t, client.ErrBadAnswer.Error()+"\n", body)
		}
	}
}
