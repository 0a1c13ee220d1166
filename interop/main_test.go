package interop

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs the suite, writes the result matrix if asked to, and then
// checks with goleak that no goroutine at all (ours, a peer library's, or
// the harness's) outlived the tests. Per-case checks of our own goroutines
// are in runCase.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if md := matrixMarkdown(); md != "" {
		if path := os.Getenv("INTEROP_MATRIX"); path != "" {
			if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
				fmt.Fprintln(os.Stderr, "INTEROP_MATRIX:", err)
			}
		}
		if testing.Verbose() {
			fmt.Println(md)
		}
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: goroutines left after all tests:\n%v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
