package exercise

import (
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/06-middleware/onion"
)

// methodFilterAllowing is answerMethodFilter with the Allow header written
// by write, for the variants below.
func methodFilterAllowing(write func(h http.Header, allowed []string)) func(...string) onion.Middleware {
	return func(allowed ...string) onion.Middleware {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !slices.Contains(allowed, r.Method) {
					write(w.Header(), allowed)
					http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
					return
				}
				next.ServeHTTP(w, r)
			})
		}
	}
}

// Allow is a list (RFC 9110, section 10.2.1): these spellings of it are
// as right as "GET, HEAD", and the check must take them.
func TestMethodFilterTakesAnyListSpelling(t *testing.T) {
	t.Run("NoSpace", func(t *testing.T) {
		CheckMethodFilter(t, methodFilterAllowing(func(h http.Header, allowed []string) {
			h.Set("Allow", strings.Join(allowed, ","))
		}))
	})
	t.Run("OneLineEach", func(t *testing.T) {
		CheckMethodFilter(t, methodFilterAllowing(func(h http.Header, allowed []string) {
			for _, m := range allowed {
				h.Add("Allow", m)
			}
		}))
	})
}

// perClientAuthFirst moves auth up, just before the rate limit, rather
// than the rate limit down: as right as answerPerClient.
func perClientAuthFirst(o middleware.Options) middleware.Stack {
	s := middleware.Default(o)
	j := slices.IndexFunc(s, func(l middleware.Layer) bool { return l.Name == "auth" })
	auth := s[j]
	s = slices.Delete(s, j, j+1)
	i := slices.IndexFunc(s, func(l middleware.Layer) bool { return l.Name == "rate-limit" })
	return slices.Insert(s, i, auth)
}

func TestPerClientTakesAuthMovedUp(t *testing.T) { CheckPerClient(t, perClientAuthFirst) }

// wrongAnswers are mistakes a check must catch, each with a piece of the
// message it must fail with (so that it fails for the right reason), and
// maybe one it must not (a reason that is not this answer's).
var wrongAnswers = map[string]struct {
	check   func(t *testing.T)
	want    string
	notWant string
}{
	// auth made the outermost layer: the rate limit is per client, but a
	// request refused with 401 is no longer logged nor given an ID.
	"PerClientAuthOutermost": {func(t *testing.T) {
		CheckPerClient(t, func(o middleware.Options) middleware.Stack {
			s := middleware.Default(o)
			j := slices.IndexFunc(s, func(l middleware.Layer) bool { return l.Name == "auth" })
			return append(middleware.Stack{s[j]}, slices.Concat(s[:j], s[j+1:])...)
		})
	}, "keep [recover request-id access-log] outermost", ""},
	// The Allow header set after http.Error has sent the header: a
	// ResponseRecorder's Header() shows it, a client never gets it.
	"MethodFilterAllowTooLate": {func(t *testing.T) {
		CheckMethodFilter(t, func(allowed ...string) onion.Middleware {
			return func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if !slices.Contains(allowed, r.Method) {
						http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
						w.Header().Set("Allow", strings.Join(allowed, ", "))
						return
					}
					next.ServeHTTP(w, r)
				})
			}
		})
	}, `Allow = [] in the header sent`, ""},
	"MethodFilterAllowAnotherList": {func(t *testing.T) {
		CheckMethodFilter(t, methodFilterAllowing(func(h http.Header, allowed []string) {
			h.Set("Allow", strings.Join(allowed, ", ")+", OPTIONS")
		}))
	}, `Allow = ["GET, HEAD, OPTIONS"] in the header sent`, ""},
	// The starting point: every method goes through, and no 405 is
	// written, so none can have been written without a return after it.
	"MethodFilterLetsAllThrough": {func(t *testing.T) {
		CheckMethodFilter(t, func(allowed ...string) onion.Middleware {
			return func(next http.Handler) http.Handler { return next }
		})
	}, "POST: status 200, want 405", "after the 405"},
	// The 405 written, and the request passed on all the same.
	"MethodFilterNoReturn": {func(t *testing.T) {
		CheckMethodFilter(t, func(allowed ...string) onion.Middleware {
			return func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if !slices.Contains(allowed, r.Method) {
						w.Header().Set("Allow", strings.Join(allowed, ", "))
						http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
					}
					next.ServeHTTP(w, r)
				})
			}
		})
	}, "POST: the request reached the next handler after the 405", ""},
}

// TestWrongAnswersFail runs each wrong answer's check in a child process
// (this test binary again), as TestStartingPointsFail does: its failure is
// the expected outcome.
func TestWrongAnswersFail(t *testing.T) {
	if name := os.Getenv("EXERCISE_WRONG_ANSWER"); name != "" {
		wrongAnswers[name].check(t)
		return
	}
	for name, wrong := range wrongAnswers {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestWrongAnswersFail$", "-test.count=1")
			cmd.Env = append(os.Environ(), "EXERCISE_WRONG_ANSWER="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Errorf("the wrong answer %s passes its check:\n%s", name, out)
			} else if !strings.Contains(string(out), wrong.want) {
				t.Errorf("the wrong answer %s fails its check without saying %q:\n%s", name, wrong.want, out)
			}
			if wrong.notWant != "" && strings.Contains(string(out), wrong.notWant) {
				t.Errorf("the wrong answer %s fails its check saying %q, which is not its mistake:\n%s", name, wrong.notWant, out)
			}
		})
	}
}
