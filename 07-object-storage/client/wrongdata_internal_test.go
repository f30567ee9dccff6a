package client

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/07-object-storage/meta"
)

// A placement naming a server that is not a data server (an address
// taken since by an API server, say) gets net/http's own "404 page not
// found" to the upload: the error says that server answered so, and
// nothing of the metadata URL, which is right. The note that a mux 404
// means the metadata URL is wrong belongs to the metadata server's
// answers only (StatusError), not to a data server's (dataError).
func TestADataServersMuxNotFoundDoesNotBlameTheMetadataURL(t *testing.T) {
	notData := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notData.Close)
	fm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(meta.Placement{Targets: []string{notData.URL}, Replicas: 1, Quorum: 1})
	}))
	t.Cleanup(fm.Close)
	c := New(Options{MetaURL: fm.URL, Log: slog.New(slog.DiscardHandler)})

	_, err := c.Put(context.Background(), "k", strings.NewReader("some bytes"))
	assert.ErrorIs(t, err, meta.ErrTooFewReplicas)
	assert.ErrorContains(t, err, notData.URL+": Not Found: 404 page not found")
	assert.NotErrorIs(t, err, ErrNotMetadataServer)
	assert.NotContains(t, err.Error(), "metadata URL", "a data server's answer blamed on the metadata URL")
}
