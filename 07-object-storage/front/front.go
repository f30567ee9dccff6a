// Package front is the object store's front door: the configuration of
// chapter 06's gateway in front of the API servers. The configuration is
// a template, gateway.yaml, with a ${NAME} wherever the program's flags
// decide; Config fills it in.
package front

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
)

// Template is the gateway's configuration with placeholders.
//
//go:embed gateway.yaml
var Template []byte

// Settings are the values of the template's placeholders.
type Settings struct {
	Listen, Admin string   // host:port; an empty Admin turns it off
	Targets       []string // the API servers' base URLs
	APIKey        string   // what clients send in X-Api-Key
	Rate          float64  // requests per second per client IP (burst: twice that)
	MaxBytes      int64    // largest request body
}

var placeholder = regexp.MustCompile(`\$\{([A-Z_]+)\}`)

// Config fills in the template. Every value is written as JSON, which
// YAML reads as it is, so that no URL or key can change the file's
// structure.
func Config(s Settings) ([]byte, error) {
	values := map[string]any{
		"LISTEN": s.Listen, "ADMIN": s.Admin, "TARGETS": s.Targets,
		"CLIENT": "client", "API_KEY": s.APIKey,
		"RATE": s.Rate, "BURST": max(1, int(2*s.Rate)), "MAX_BYTES": s.MaxBytes,
	}
	var err error
	out := placeholder.ReplaceAllFunc(Template, func(m []byte) []byte {
		name := string(m[2 : len(m)-1])
		v, ok := values[name]
		if !ok {
			err = fmt.Errorf("gateway.yaml: no value for ${%s}", name)
			return m
		}
		b, jerr := json.Marshal(v)
		if jerr != nil {
			err = fmt.Errorf("gateway.yaml: ${%s}: %w", name, jerr)
		}
		return b
	})
	return out, err
}

// Source is a gateway.Source serving Config(s).
func Source(s Settings) func() (string, []byte, error) {
	return func() (string, []byte, error) {
		data, err := Config(s)
		return "gateway.yaml", data, err
	}
}
