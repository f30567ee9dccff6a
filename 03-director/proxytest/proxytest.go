// Package proxytest checks that a reverse proxy resists the two attacks
// the ReverseProxy documentation warns Director-based proxies about: a
// client that deletes a header the proxy adds, and a client that lies
// about its address. Run it on your own proxy with Run; the course runs it
// on package rewrite (which passes) and on package legacy (which fails the
// two attack checks, as it should).
package proxytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/gocourse/gateway/01-backends/backend"
)

// Factory builds the proxy under test: it forwards to target and sets
// header on every request it forwards.
type Factory func(target *url.URL, header http.Header) http.Handler

// A Check is one named property; Run returns nil when the proxy has it.
type Check struct {
	Name string
	Run  func(Factory) error
}

// The header the proxy under test is asked to add, as a gateway adds a
// secret a backend uses to know the request came through it.
const (
	headerName  = "X-Internal-Auth"
	headerValue = "gateway-secret"
)

// Checks are the properties a hardened proxy has.
var Checks = []Check{
	{"forwards to the target", forwards},
	{"replaces a client's copy of the added header", replacesForgedHeader},
	{"keeps the added header when the client lists it in Connection", keepsHeaderListedInConnection},
	{"drops the X-Forwarded-For a client sent", dropsClientForwardedFor},
}

// Run runs every check as a subtest.
func Run(t *testing.T, f Factory) {
	for _, c := range Checks {
		t.Run(c.Name, func(t *testing.T) {
			if err := c.Run(f); err != nil {
				t.Error(err)
			}
		})
	}
}

// Failures runs every check and returns the names of those that failed.
func Failures(f Factory) []string {
	var failed []string
	for _, c := range Checks {
		if c.Run(f) != nil {
			failed = append(failed, c.Name)
		}
	}
	return failed
}

func forwards(f Factory) error {
	echo, err := send(f, nil)
	if err != nil {
		return err
	}
	if echo.Backend != "A" || echo.Path != "/echo" {
		return fmt.Errorf("GET /echo reached backend %q path %q, want backend A path /echo", echo.Backend, echo.Path)
	}
	return nil
}

func replacesForgedHeader(f Factory) error {
	echo, err := send(f, http.Header{headerName: {"forged-by-client"}})
	if err != nil {
		return err
	}
	if got := echo.Headers[headerName]; !slices.Equal(got, []string{headerValue}) {
		return fmt.Errorf("the client sent %s: forged-by-client; the backend got %q, want only the proxy's %q", headerName, got, headerValue)
	}
	return nil
}

func keepsHeaderListedInConnection(f Factory) error {
	echo, err := send(f, http.Header{"Connection": {headerName}})
	if err != nil {
		return err
	}
	if got := echo.Headers[headerName]; !slices.Equal(got, []string{headerValue}) {
		return fmt.Errorf("the client sent Connection: %s; the backend got %s %q, want %q: the proxy removed its own header after adding it",
			headerName, headerName, got, headerValue)
	}
	return nil
}

func dropsClientForwardedFor(f Factory) error {
	echo, err := send(f, http.Header{"X-Forwarded-For": {"6.6.6.6"}})
	if err != nil {
		return err
	}
	for _, v := range echo.Headers["X-Forwarded-For"] {
		if v != "127.0.0.1" {
			return fmt.Errorf("the client sent X-Forwarded-For: 6.6.6.6; the backend got %q, want only the real client address 127.0.0.1 (or none)",
				echo.Headers["X-Forwarded-For"])
		}
	}
	return nil
}

// send sends GET /echo with header through a fresh proxy made by f to a
// fresh backend A, and returns what the backend saw.
func send(f Factory, header http.Header) (*backend.Echo, error) {
	b := httptest.NewServer(backend.New("A"))
	defer b.Close()
	target, _ := url.Parse(b.URL)
	p := httptest.NewServer(f(target, http.Header{headerName: {headerValue}}))
	defer p.Close()

	req, err := http.NewRequest(http.MethodGet, p.URL+"/echo", nil)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := p.Client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET /echo through the proxy: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /echo through the proxy: %s, want 200 OK", resp.Status)
	}
	var echo backend.Echo
	if err := json.NewDecoder(resp.Body).Decode(&echo); err != nil {
		return nil, fmt.Errorf("GET /echo through the proxy: reading the backend's echo: %w", err)
	}
	return &echo, nil
}
