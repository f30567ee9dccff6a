package exercise

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gocourse/gateway/06-middleware/middleware"
	"github.com/gocourse/gateway/06-middleware/onion"
)

// The course's answers, run through the same checks as a learner's: they
// prove every check can be passed. Try the exercises before reading them.

func answerResponseTime(now func() time.Time) onion.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(&answerTimingWriter{ResponseWriter: w, start: now(), now: now}, r)
		})
	}
}

type answerTimingWriter struct {
	http.ResponseWriter
	start time.Time
	now   func() time.Time
	done  bool
}

func (w *answerTimingWriter) WriteHeader(code int) {
	if !w.done && code >= 200 {
		w.done = true
		w.Header().Set("X-Response-Time", fmt.Sprintf("%dms", w.now().Sub(w.start).Milliseconds()))
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *answerTimingWriter) Write(p []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

func (w *answerTimingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func answerMethodFilter(allowed ...string) onion.Middleware {
	allow := strings.Join(allowed, ", ")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !slices.Contains(allowed, r.Method) {
				w.Header().Set("Allow", allow)
				http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// answerPerClient moves the rate limit just after auth. The price: a
// request without valid credentials is refused by auth before the rate
// limit runs, so it is never limited at all, and a flood of them (a
// client guessing keys, say) costs auth's work on every one.
func answerPerClient(o middleware.Options) middleware.Stack {
	s := middleware.Default(o)
	i := slices.IndexFunc(s, func(l middleware.Layer) bool { return l.Name == "rate-limit" })
	rl := s[i]
	s = slices.Delete(s, i, i+1)
	j := slices.IndexFunc(s, func(l middleware.Layer) bool { return l.Name == "auth" })
	return slices.Insert(s, j+1, rl)
}

func TestAnswers(t *testing.T) {
	t.Run("ResponseTime", func(t *testing.T) { CheckResponseTime(t, answerResponseTime) })
	t.Run("MethodFilter", func(t *testing.T) { CheckMethodFilter(t, answerMethodFilter) })
	t.Run("PerClient", func(t *testing.T) { CheckPerClient(t, answerPerClient) })
}

var startingPoints = map[string]func(t *testing.T){
	"ResponseTime": func(t *testing.T) { CheckResponseTime(t, ResponseTime) },
	"MethodFilter": func(t *testing.T) { CheckMethodFilter(t, MethodFilter) },
	"PerClient":    func(t *testing.T) { CheckPerClient(t, PerClient) },
}

// TestStartingPointsFail makes sure no starting point passes its check by
// accident. A check that fails fails its test, so each runs in a child
// process (this test binary again), whose failure is the expected outcome.
// An exercise a learner has done is no starting point any more: it is
// skipped, so that a done exercise does not turn go test red.
func TestStartingPointsFail(t *testing.T) {
	if name := os.Getenv("EXERCISE_STARTING_POINT"); name != "" {
		startingPoints[name](t)
		return
	}
	for name := range startingPoints {
		t.Run(name, func(t *testing.T) {
			if !isStartingPoint(t, name) {
				t.Skipf("%s in exercise.go has no %q line: done, not the starting point this test is about", name, todo)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestStartingPointsFail$", "-test.count=1")
			cmd.Env = append(os.Environ(), "EXERCISE_STARTING_POINT="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Errorf("the starting point of %s passes its check (if you have done the exercise, delete its %q line):\n%s", name, todo, out)
			}
		})
	}
}

// todo marks the line of a starting point that a learner replaces.
const todo = "// TODO: your code here"

// isStartingPoint reports whether the body of function name in
// exercise.go still has its todo line.
func isStartingPoint(t *testing.T, name string) bool {
	src, err := os.ReadFile("exercise.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "exercise.go", src, parser.ParseComments)
	require.NoError(t, err)
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == name && fd.Body != nil {
			body := src[fset.Position(fd.Body.Pos()).Offset:fset.Position(fd.Body.End()).Offset]
			return bytes.Contains(body, []byte(todo))
		}
	}
	t.Fatalf("exercise.go has no function %s", name)
	return false
}
