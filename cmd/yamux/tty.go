package main

import "os"

// isTerminal reports whether f is a character device, which is what a
// terminal is; pipes and files are not.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
