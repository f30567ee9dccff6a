//go:build exercise

// The checks of chapter 02's exercises. They fail until you have done the
// exercises in exercise.go:
//
//	go test -tags exercise ./02-single-proxy/exercise
package exercise_test

import (
	"net/http"
	"testing"

	"github.com/gocourse/gateway/02-single-proxy/exercise"
	"github.com/gocourse/gateway/02-single-proxy/proxytest"
)

func TestExerciseErrorHandler(t *testing.T) {
	proxytest.CheckErrorHandler(t, exercise.ErrorHandler)
}

func TestExerciseTransport(t *testing.T) {
	proxytest.CheckTransport(t, func() http.RoundTripper { return exercise.NewTransport() })
}

func TestExerciseHost(t *testing.T) {
	proxytest.CheckBackendHost(t, exercise.NewHostRewriting)
}
