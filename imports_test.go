package yamux_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// importsGoTool finds the go command that built this test: the one in
// GOROOT first, then PATH.
func importsGoTool(t testing.TB) string {
	t.Helper()
	//lint:ignore SA1019 the toolchain that built this test is the one to ask; PATH is the fallback
	if root := runtime.GOROOT(); root != "" {
		exe := "go"
		if runtime.GOOS == "windows" {
			exe += ".exe"
		}
		if p := filepath.Join(root, "bin", exe); fileExists(p) {
			return p
		}
	}
	p, err := exec.LookPath("go")
	if errors.Is(err, exec.ErrNotFound) {
		t.Skip("go command not found in GOROOT/bin or PATH")
	}
	if err != nil {
		t.Fatalf("looking up the go command: %v", err)
	}
	return p
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// TestCoreImportsStdlibOnly: the core package depends on the standard
// library and its own internal packages, nothing else (api.md).
func TestCoreImportsStdlibOnly(t *testing.T) {
	const module = "github.com/yamuxgo/yamux"
	goTool := importsGoTool(t)
	cmd := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", module)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var deps []string
	for line := range strings.Lines(string(out)) {
		if line = strings.TrimSpace(line); line != "" {
			deps = append(deps, line)
		}
	}
	sawRoot := false
	for _, p := range deps {
		switch {
		case p == module:
			sawRoot = true
		case strings.HasPrefix(p, module+"/internal/"):
		default:
			t.Errorf("core depends on %q, want only the standard library and %s/internal/...", p, module)
		}
	}
	if !sawRoot {
		t.Fatalf("go list -deps output %q does not list %s itself, want it last", deps, module)
	}
}
