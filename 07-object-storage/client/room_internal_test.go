package client

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gocourse/gateway/07-object-storage/meta"
)

// A doomed streamed write says why with an upload that failed on its
// own (causeOf), and blames room only if every such upload was refused
// for it, in whatever order the uploads are listed: the streamed side of
// TestAWriteShortForRoomAndADownServerIsNotErrNoRoom, whose write may
// end before the doom is seen.
func TestADoomedWriteBlamesRoomOnlyIfEveryFailureWasForRoom(t *testing.T) {
	down := errors.New("connection refused")
	full := fmt.Errorf("data server: %w", meta.ErrNoRoom)
	stopped := fmt.Errorf("stopped: %w", context.Canceled)
	for _, errs := range [][]error{{down, full}, {full, down}, {full, stopped, down, nil}, {nil, down, errDoomed, full}} {
		assert.Equal(t, down, causeOf(errs), "%v", errs)
	}
	assert.Equal(t, full, causeOf([]error{nil, full, stopped, full}), "every failure was for room")
	assert.Equal(t, stopped, causeOf([]error{nil, stopped}), "only a cancellation")
}
