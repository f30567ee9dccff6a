package gateway

import (
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestSmoke(t *testing.T) {
	srvs := backends(t, 3)
	_, gw, _ := start(t, fill(`
pools:
  p:
    balancer: roundrobin
    targets: ["${A}", "${B}", "${C}"]
routes:
  - {path: /rr, pool: p, strip_prefix: true}
`, srvs))
	var got []string
	for range 6 {
		code, body := get(t, gw.URL+"/rr/")
		assert.Equal(t, 200, code, body)
		got = append(got, who(body))
	}
	t.Log(got)
}
