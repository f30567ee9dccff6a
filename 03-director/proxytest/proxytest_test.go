package proxytest

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

// director is the seed tutorial's kind of proxy, exercise 1's starting
// point: a Director that adds the header.
func director(target *url.URL, header http.Header) http.Handler {
	p := httputil.NewSingleHostReverseProxy(target)
	direct := p.Director
	p.Director = func(r *http.Request) {
		direct(r)
		for k, v := range header {
			r.Header[k] = v
		}
	}
	return p
}

// TestRunCatchesTheDirectorsFlaws runs Run, exercise 1's check, on the
// Director proxy in a child test process, since it must fail, and checks
// that exactly the two attack checks fail.
func TestRunCatchesTheDirectorsFlaws(t *testing.T) {
	if os.Getenv("PROXYTEST_DIRECTOR_CHILD") == "1" {
		Run(t, director)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunCatchesTheDirectorsFlaws$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "PROXYTEST_DIRECTOR_CHILD=1")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "Run passed the Director proxy:\n%s", out)
	var failed []string
	for _, m := range regexp.MustCompile(`--- FAIL: TestRunCatchesTheDirectorsFlaws/(\S+)`).FindAllStringSubmatch(string(out), -1) {
		failed = append(failed, m[1])
	}
	sort.Strings(failed)
	want := []string{"drops_the_X-Forwarded-For_a_client_sent", "keeps_the_added_header_when_the_client_lists_it_in_Connection"}
	if diff := cmp.Diff(want, failed); diff != "" {
		t.Errorf("failed checks (-want +got):\n%s\n%s", diff, out)
	}
}
