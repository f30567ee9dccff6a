package client

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/07-object-storage/meta"
)

// A doomed write blames room (meta.ErrNoRoom, a 507 at the API) only if
// every upload that failed was refused for it. An upload the grace cut
// short never answered: its server hangs, or its dial has not failed
// yet, so room is not the whole story, and the write is a 503 (too few
// replicas), as it was when the write waited for the hanging upload's
// stall clock. The full server's refusal is still the failure named, and
// the upload cut short is not. Both ways of putting, as in
// TestADoomedWriteDoesNotWaitForAServerThatHangs.
func TestADoomedWriteBesideAnUnansweredUploadIsNotErrNoRoom(t *testing.T) {
	hang := hangingServer(t)
	full := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no room", http.StatusInsufficientStorage)
	}))
	t.Cleanup(full.Close)
	for name, tc := range putWays() {
		t.Run(name, func(t *testing.T) {
			c, graces := doomClient(t, []string{full.URL, hang}, tc.opt)
			done := make(chan error, 1)
			go func() { done <- tc.put(c) }()
			waitFor(t, graces).fire() // doomed by the full server; the hanging upload is cut short
			err := waitFor(t, done)
			assert.ErrorIs(t, err, meta.ErrTooFewReplicas)
			assert.NotErrorIs(t, err, meta.ErrNoRoom, "blamed on room beside a server that never answered")
			assert.ErrorContains(t, err, full.URL, "the full server's refusal is not named")
			assert.NotContains(t, err.Error(), strings.TrimPrefix(hang, "http://"), "the upload cut short is named")
		})
	}
}
