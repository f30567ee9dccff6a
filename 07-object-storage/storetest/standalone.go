package storetest

import (
	"fmt"
	"os"
	"strings"
	"sync"
)

// TB is what a Cluster needs from its test: *testing.T, *testing.B and
// testing.TB have it, and so does Standalone.
type TB interface {
	Helper()
	TempDir() string
	Cleanup(func())
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	FailNow()
}

// Standalone is a TB for code that runs outside a test function: an
// Example gets no *testing.T, yet a chapter's story of a cluster is best
// told as an Example, whose printed output go test checks. A failure
// panics, which fails the Example with the message; Close runs the
// cleanups, last registered first, as testing does. Use it as
//
//	tb := new(storetest.Standalone)
//	defer tb.Close()
//	cl := storetest.New(tb, 4, meta.Options{})
type Standalone struct {
	mu       sync.Mutex
	cleanups []func()
	errs     []string
}

// Helper does nothing: there is no test log to point at.
func (s *Standalone) Helper() {}

// TempDir returns a new directory that Close removes.
func (s *Standalone) TempDir() string {
	dir, err := os.MkdirTemp("", "storetest-")
	if err != nil {
		panic(fmt.Sprintf("storetest: %v", err))
	}
	s.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// Cleanup registers f to run on Close.
func (s *Standalone) Cleanup(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cleanups = append(s.cleanups, f)
}

// Errorf records a failure; the next FailNow or Fatalf reports it.
func (s *Standalone) Errorf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, fmt.Sprintf(format, args...))
}

// Fatalf panics with the message and any failures recorded before it.
func (s *Standalone) Fatalf(format string, args ...any) {
	s.Errorf(format, args...)
	s.FailNow()
}

// FailNow panics with the failures recorded so far.
func (s *Standalone) FailNow() {
	s.mu.Lock()
	defer s.mu.Unlock()
	panic("storetest: " + strings.Join(s.errs, "\n"))
}

// Close runs the cleanups, last registered first.
func (s *Standalone) Close() {
	s.mu.Lock()
	fs := s.cleanups
	s.cleanups = nil
	s.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}
