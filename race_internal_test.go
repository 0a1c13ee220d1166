//go:build race

package yamux

// raceEnabled: sync.Pool drops items at random under the race detector.
const raceEnabled = true
