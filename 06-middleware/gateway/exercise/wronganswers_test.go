package exercise

import (
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gocourse/gateway/06-middleware/gateway"
	"github.com/gocourse/gateway/06-middleware/onion"
)

// registerWith registers add-header with answerAddHeader's options and a
// middleware made by wrap, for the variants below.
func registerWith(wrap func(o *answerAddHeader, next http.Handler) http.Handler) func(*gateway.Registry) {
	return func(reg *gateway.Registry) {
		gateway.Register(reg, "add-header", answerAddHeader{}, func(o *answerAddHeader, _ gateway.Env) (onion.Middleware, error) {
			return func(next http.Handler) http.Handler { return wrap(o, next) }, nil
		})
	}
}

// A header set in the map under the name as the file wrote it ("x-stage")
// goes out as written, and a client reads it as X-Stage: the check must
// take it.
func TestRegisterTakesANameAsWritten(t *testing.T) {
	CheckRegister(t, registerWith(func(o *answerAddHeader, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header()[o.Header] = []string{o.Value}
			next.ServeHTTP(w, r)
		})
	}))
}

// wrongRegisters are mistakes CheckRegister must catch, each with a piece
// of the message it must fail with and one it must not (a message that
// blames the wrong thing sends the learner the wrong way).
var wrongRegisters = map[string]struct {
	register    func(*gateway.Registry)
	want, wrong string
}{
	"HeaderSetTooLate": {registerWith(func(o *answerAddHeader, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r)
			w.Header().Set(o.Header, o.Value)
		})
	}), "X-Course is not in the header sent, only set after the response was written", "own options"},
	"OptionsSharedByEveryUse": {func() func(*gateway.Registry) {
		var last *answerAddHeader
		return registerWith(func(o *answerAddHeader, next http.Handler) http.Handler {
			last = o
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set(last.Header, last.Value)
				next.ServeHTTP(w, r)
			})
		})
	}(), "each use of the middleware must keep its own options", "set it before next.ServeHTTP"},
	"NextNeverCalled": {registerWith(func(o *answerAddHeader, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set(o.Header, o.Value)
		})
	}), "must call next.ServeHTTP", "own options"},
}

// TestWrongRegistersFail runs each wrong answer's check in a child
// process (this test binary again), as TestStartingPointsFail does: its
// failure is the expected outcome.
func TestWrongRegistersFail(t *testing.T) {
	if name := os.Getenv("EXERCISE_WRONG_REGISTER"); name != "" {
		CheckRegister(t, wrongRegisters[name].register)
		return
	}
	for name, wrong := range wrongRegisters {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestWrongRegistersFail$", "-test.count=1")
			cmd.Env = append(os.Environ(), "EXERCISE_WRONG_REGISTER="+name)
			out, err := cmd.CombinedOutput()
			switch {
			case err == nil:
				t.Errorf("the wrong answer %s passes its check:\n%s", name, out)
			case !strings.Contains(string(out), wrong.want):
				t.Errorf("the wrong answer %s fails its check without saying %q:\n%s", name, wrong.want, out)
			case strings.Contains(string(out), wrong.wrong):
				t.Errorf("the wrong answer %s fails its check saying %q, which is not its mistake:\n%s", name, wrong.wrong, out)
			}
		})
	}
}
