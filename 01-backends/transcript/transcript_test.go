package transcript

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	steps, err := Parse("$ go run ./x -v\nstarted\n$ curl -s URL\nhello\n\n^C\nstopped\n")
	require.NoError(t, err)
	want := []Step{
		{Command: "go run ./x -v", Want: []string{"started"}},
		{Command: "curl -s URL", Want: []string{"hello", ""}},
		{Command: "^C", Want: []string{"stopped"}},
	}
	if diff := cmp.Diff(want, steps); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
	_, err = Parse("stray\n$ go run ./x\n")
	assert.Error(t, err)
	_, err = Parse("$ curl URL\n")
	assert.Error(t, err)
}

func TestSplit(t *testing.T) {
	got, err := Split(`curl -s -H 'X-A: 1 2' "http://h/?a=1&b=2"  -d ''`)
	require.NoError(t, err)
	if diff := cmp.Diff([]string{"curl", "-s", "-H", "X-A: 1 2", "http://h/?a=1&b=2", "-d", ""}, got); diff != "" {
		t.Errorf("Split (-want +got):\n%s", diff)
	}
	_, err = Split(`curl 'open`)
	assert.Error(t, err)
}

func TestLineMatches(t *testing.T) {
	a := addresses{want: []string{"127.0.0.1:8080", "127.0.0.1:9001"}}
	assert.True(t, a.lineMatches("Date: ...", "Date: Wed, 25 Nov 2026 10:00:00 GMT"))
	assert.False(t, a.lineMatches("Date: ...", "Server: x"))
	assert.False(t, a.lineMatches("hello", "hullo"))
	// A port the program did not print is a client's: any port matches.
	assert.True(t, a.lineMatches(`"remote_addr": "127.0.0.1:5555"`, `"remote_addr": "127.0.0.1:41234"`))
	// An address the program printed must be the same one.
	assert.True(t, a.lineMatches(`"host": "127.0.0.1:8080"`, `"host": "127.0.0.1:8080"`))
	assert.False(t, a.lineMatches(`"host": "127.0.0.1:8080"`, `"host": "127.0.0.1:9001"`))
	assert.False(t, a.lineMatches(`"host": "127.0.0.1:8080"`, `"host": "127.0.0.1:38417"`))
}

func TestAddressesArePairedInOrder(t *testing.T) {
	a, err := pairAddresses(
		[]string{"A on 127.0.0.1:9001", "B on 127.0.0.1:9002", "proxy to 127.0.0.1:9001"},
		[]string{"A on 127.0.0.1:40001", "B on 127.0.0.1:4000", "proxy to 127.0.0.1:40001"})
	require.NoError(t, err)
	assert.Equal(t, "curl http://127.0.0.1:4000/", a.toGot("curl http://127.0.0.1:9002/"))
	assert.Equal(t, []string{"127.0.0.1:9001 127.0.0.1:9002"}, a.toWant([]string{"127.0.0.1:40001 127.0.0.1:4000"}))

	_, err = pairAddresses([]string{"127.0.0.1:9001"}, []string{"nothing"})
	assert.Error(t, err)
}

func TestCurl(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Seen", fmt.Sprintf("%s %s %s %s %q", r.Method, r.Header.Get("User-Agent"), r.Header.Get("X-A"), r.Header.Get("Accept-Encoding"), b))
		w.Header().Set("X-Type", strings.Join(r.Header.Values("Content-Type"), " | "))
		w.Header().Set("Date", "today")
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "body\n")
	}))
	defer srv.Close()
	ctx := context.Background()

	out, err := Curl(ctx, []string{"-s", srv.URL})
	require.NoError(t, err)
	assert.Equal(t, "body\n", out)

	out, err = Curl(ctx, []string{"-si", "-X", "PUT", "-H", "X-A: 1", "-d", "k=v", srv.URL})
	require.NoError(t, err)
	assert.Equal(t, "HTTP/1.1 418 I'm a teapot\nDate: today\nX-Seen: PUT "+UserAgent+` 1  "k=v"`+"\nX-Type: application/x-www-form-urlencoded\nContent-Length: 5\nContent-Type: text/plain; charset=utf-8\n\nbody\n", out)

	// -d's Content-Type is curl's default: a -H with another, before
	// or after -d, replaces it.
	for _, args := range [][]string{
		{"-si", "-H", "Content-Type: text/plain", "-d", "x", srv.URL},
		{"-si", "-d", "x", "-H", "Content-Type: text/plain", srv.URL},
	} {
		out, err = Curl(ctx, args)
		require.NoError(t, err)
		assert.Contains(t, out, "\nX-Type: text/plain\n", "%q", args)
	}

	out, err = Curl(ctx, []string{"-s", "-o", "/dev/null", "-w", `%{http_code}\n`, srv.URL})
	require.NoError(t, err)
	assert.Equal(t, "418\n", out)

	// Like curl --path-as-is, and unlike plain curl, the path goes as written.
	paths := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.RawPath+r.URL.Path)
	}))
	defer paths.Close()
	out, err = Curl(ctx, []string{"-s", "--path-as-is", paths.URL + "/a/../b"})
	require.NoError(t, err)
	assert.Equal(t, "/a/../b", out)

	_, err = Curl(ctx, []string{"-L", srv.URL})
	assert.Error(t, err, "an option Curl cannot replay must be an error, not ignored")
}

func TestLineWriter(t *testing.T) {
	w := NewLineWriter(3)
	fmt.Fprint(w, "one\ntw")
	fmt.Fprint(w, "o\nthree")
	assert.Equal(t, "one", <-w.Lines)
	assert.Equal(t, "two", <-w.Lines)
	select {
	case l := <-w.Lines:
		t.Errorf("got %q before its newline was written", l)
	default:
	}
	fmt.Fprint(w, "\n")
	assert.Equal(t, "three", <-w.Lines)
}
