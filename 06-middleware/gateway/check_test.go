package gateway

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The chapter shows what -check says about testdata/bad.yaml: this test
// keeps testdata/bad.txt true.
func TestCheckReportsEveryMistakeOfTheChaptersExample(t *testing.T) {
	want, err := os.ReadFile("testdata/bad.txt")
	require.NoError(t, err)
	err = Run(context.Background(), []string{"-check", "testdata/bad.yaml"}, &strings.Builder{})
	require.Error(t, err)
	assert.Equal(t, strings.TrimSuffix(string(want), "\n"), err.Error())
}
