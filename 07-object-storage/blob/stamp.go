package blob

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// ErrStampChanged is RemoveStamped's refusal: the blob was used again
// since its stamp was read.
var ErrStampChanged = errors.New("blob was used again since its stamp was read")

// Stamper is a Store that can refuse a removal that comes too late.
// Garbage collection reads a blob's stamp in an inventory, decides the
// blob is garbage, and asks for it to be removed; the removal may be
// carried out after the caller gave up and the same content was written
// and counted again. Every act that reuses a stored copy calls Touch
// first, and the removal names the stamp it saw: whichever comes second
// under the store's lock loses. The stamp belongs to one store only, so
// no two machines' clocks are ever compared.
type Stamper interface {
	// Stamp returns blob h's stamp, or ErrNotFound. Any value is a
	// stamp, 0 too: a counter may start there.
	Stamp(h Hash) (int64, error)

	// Touch moves blob h's stamp strictly forward and returns the new
	// one, or ErrNotFound. The new stamp must be one h has never had,
	// also in a copy of h removed before and put again: a counter that
	// starts again at 0 when h is put again would let a late removal
	// meant for the old copy (stamp 1, say) remove the new one once
	// Touch gives it 1 too.
	Touch(h Hash) (int64, error)

	// RemoveStamped removes blob h if its stamp is still stamp, returns
	// ErrStampChanged if it is not, and ErrNotFound if there is no blob.
	RemoveStamped(h Hash, stamp int64) error
}

// A Disk blob's stamp is its file's modification time in nanoseconds:
// nothing else changes it once the file is renamed into place, and it
// survives a restart. Touch writes it only under d.mu, as Remove,
// RemoveStamped and Quarantine read it. It is not synced: a crash takes
// the late removal it fences off with it.

// Stamp returns blob h's stamp.
func (d *Disk) Stamp(h Hash) (int64, error) {
	if _, err := ParseHash(string(h)); err != nil {
		return 0, err
	}
	return d.stamp(h)
}

func (d *Disk) stamp(h Hash) (int64, error) {
	info, err := os.Stat(d.path(h))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("blob %s: %w", h.Short(), ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("blob: %w", err)
	}
	return info.ModTime().UnixNano(), nil
}

// touchSteps are how far past the old stamp Touch tries to move it. A
// file system that keeps times to the nanosecond takes the first; one
// that rounds (to the second on some, two seconds on FAT) needs a larger
// step before the stamp moves at all.
var touchSteps = []time.Duration{time.Nanosecond, time.Microsecond, time.Millisecond, time.Second, 2 * time.Second}

// chtimes is os.Chtimes; a test replaces it to act like a file system
// with coarse times.
var chtimes = os.Chtimes

// Touch sets blob h's modification time to now, or just past its old
// one if the clock says otherwise (it went back, or two Touches came
// within its resolution), and checks that the time stored moved forward.
func (d *Disk) Touch(h Hash) (int64, error) {
	if _, err := ParseHash(string(h)); err != nil {
		return 0, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	old, err := d.stamp(h)
	if err != nil {
		return 0, err
	}
	for _, step := range touchSteps {
		t := max(time.Now().UnixNano(), old+int64(step))
		if err := chtimes(d.path(h), time.Time{}, time.Unix(0, t)); errors.Is(err, fs.ErrNotExist) {
			return 0, fmt.Errorf("blob %s: %w", h.Short(), ErrNotFound)
		} else if err != nil {
			return 0, fmt.Errorf("blob: %w", err)
		}
		now, err := d.stamp(h)
		if err != nil {
			return 0, err
		}
		if now > old {
			return now, nil
		}
	}
	return 0, fmt.Errorf("blob %s: modification time does not move forward in %s", h.Short(), filepath.Dir(d.path(h)))
}

// RemoveStamped removes blob h if its stamp is still stamp.
func (d *Disk) RemoveStamped(h Hash, stamp int64) error {
	if _, err := ParseHash(string(h)); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now, err := d.stamp(h)
	if err != nil {
		return err
	}
	if now != stamp {
		return fmt.Errorf("blob %s: %w", h.Short(), ErrStampChanged)
	}
	return d.remove(h)
}
