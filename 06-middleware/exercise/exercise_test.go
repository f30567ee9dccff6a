//go:build exercise

package exercise

import "testing"

// Run with: go test -tags exercise ./06-middleware/exercise

func TestResponseTime(t *testing.T) { CheckResponseTime(t, ResponseTime) }
func TestMethodFilter(t *testing.T) { CheckMethodFilter(t, MethodFilter) }
func TestPerClient(t *testing.T)    { CheckPerClient(t, PerClient) }
