package gateway

import (
	"bytes"
	"context"
	"testing"

	"github.com/gocourse/gateway/01-backends/serve"
	"github.com/stretchr/testify/assert"
)

// -check checks one file and starts nothing, so a flag about what to
// start beside it is a mistake the command line says, naming the flag;
// it was ignored without a word, and "-check a.yaml -targets URLs" read
// as though the URLs had been checked.
func TestCheckTakesNoOtherFlag(t *testing.T) {
	keepRuntime(t)
	for _, extra := range [][]string{
		{"-config", "testdata/bad.yaml"},
		{"-listen", "127.0.0.1:0"},
		{"-admin", "127.0.0.1:0"},
		{"-targets", "http://127.0.0.1:9001"},
		{"-config", ""},
	} {
		var out bytes.Buffer
		err := Run(context.Background(), append([]string{"-check", "gateway.yaml"}, extra...), &out)
		var usage *serve.UsageError
		if assert.ErrorAs(t, err, &usage, "%v", extra) {
			assert.Equal(t, "-check takes no "+extra[0]+": it checks FILE and starts nothing", err.Error())
		}
		assert.Empty(t, out.String(), "nothing checked for %v", extra)
	}
}
