//go:build race

package noise_test

const raceEnabled = true
