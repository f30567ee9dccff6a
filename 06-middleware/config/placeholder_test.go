package config_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/06-middleware/config"
)

// A ${...} left in a target is not a URL without a scheme, as
// proxy.ParseTarget would say ("did you mean http://${API_HOST}?"): the
// file's author expected it to be replaced. The error says what the
// gateway replaces, and that it reads no environment variables.
func TestAPlaceholderLeftInATargetIsExplained(t *testing.T) {
	_, err := config.Parse("f.yaml", []byte(`
pools:
  p:
    targets:
      - ${API_HOST}
      - http://${API_HOST}:8080
routes: [{pool: p}]
`), registry{})
	const why = "the gateway reads no environment variables, and replaces only ${BACKEND_A} to ${BACKEND_Z}, with the backends it starts with; write the backend's URL, such as http://127.0.0.1:9001"
	assert.EqualError(t, err, `f.yaml:5: pools.p.targets[0].url: "${API_HOST}" is not replaced: `+why+"\n"+
		`f.yaml:6: pools.p.targets[1].url: "http://${API_HOST}:8080" is not replaced: `+why)
}
