//go:build !race

package pickertest

// raceEnabled is true in a test binary built with -race.
const raceEnabled = false
