package config_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/06-middleware/config"
)

// A route's pool in a file that defines none: the error says there are
// none, not "(pools: )".
func TestARoutesPoolInAFileWithNoPools(t *testing.T) {
	_, err := config.Parse("f.yaml", []byte("pools:\nroutes:\n  - pool: web\n  - path: /x\n"), registry{})
	assert.EqualError(t, err, "f.yaml:1: pools: no pools: define at least one pool of backends\n"+
		`f.yaml:3: routes[0].pool: no pool "web" (the file defines none)`+"\n"+
		"f.yaml:4: routes[1].pool: missing: say which pool serves this route (the file defines none)")
}
