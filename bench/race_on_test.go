//go:build race

package main

// The race detector's instrumentation allocates; allocation counts are only
// asserted without it.
const raceEnabled = true
