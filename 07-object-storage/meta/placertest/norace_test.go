//go:build !race

package placertest

// raceEnabled is true in a test binary built with -race.
const raceEnabled = false
