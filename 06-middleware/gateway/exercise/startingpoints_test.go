package exercise

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/require"
)

// startingPoints runs each exercise's check on the starting point as
// shipped, with the marker that says it has not been done.
var startingPoints = map[string]struct {
	check  func(t *testing.T)
	done   func(t *testing.T) bool // the marker is gone: the learner has been at it
	marker string
}{
	"Register": {
		check:  func(t *testing.T) { CheckRegister(t, Register) },
		done:   func(t *testing.T) bool { return !funcHas(t, "exercise.go", "Register", registerTODO) },
		marker: registerTODO,
	},
	"Shop": {
		check:  func(t *testing.T) { CheckShop(t, ShopFile) },
		done:   func(t *testing.T) bool { return !fileHas(t, ShopFile, shopTODO) },
		marker: shopTODO,
	},
}

const (
	registerTODO = "// TODO: your code here"
	shopTODO     = "# TODO: the carts pool, and its route"
)

// TestStartingPointsFail makes sure no starting point passes its check by
// accident, so that a learner can tell an exercise done from not done. A
// check that fails fails its test, so each runs in a child process (this
// test binary again), whose failure is the expected outcome. An exercise
// whose marker line the learner has replaced is skipped, so that a done
// exercise does not turn go test red.
func TestStartingPointsFail(t *testing.T) {
	if name := os.Getenv("EXERCISE_STARTING_POINT"); name != "" {
		startingPoints[name].check(t)
		return
	}
	for name, sp := range startingPoints {
		t.Run(name, func(t *testing.T) {
			if sp.done(t) {
				t.Skipf("the %q line is gone: %s is done, not the starting point this test is about", sp.marker, name)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestStartingPointsFail$", "-test.count=1")
			cmd.Env = append(os.Environ(), "EXERCISE_STARTING_POINT="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Errorf("the starting point of %s passes its check (if you have done the exercise, delete its %q line):\n%s", name, sp.marker, out)
			}
		})
	}
}

// funcHas reports whether the body of function name in file has line.
func funcHas(t *testing.T, file, name, line string) bool {
	src, err := os.ReadFile(file)
	require.NoError(t, err)
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.ParseComments)
	require.NoError(t, err)
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == name && fd.Body != nil {
			return bytes.Contains(src[fset.Position(fd.Body.Pos()).Offset:fset.Position(fd.Body.End()).Offset], []byte(line))
		}
	}
	t.Fatalf("%s has no function %s", file, name)
	return false
}

// fileHas reports whether file has line.
func fileHas(t *testing.T, file, line string) bool {
	src, err := os.ReadFile(file)
	require.NoError(t, err)
	return bytes.Contains(src, []byte(line))
}
