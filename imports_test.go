package yamux_test

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// module is the import path of this module; the import rules below name
// packages relative to it.
const module = "github.com/yamuxgo/yamux"

// importRules is the layering of the module, one row per package (paths
// relative to the module, "." is the root package). A package may depend
// on the standard library and on the module packages in allow, nothing
// else; forbid names, for the reader, the packages it must never depend on
// even where allow already excludes them (so the rule stays when someone
// widens allow). Patterns ending in "/..." match a subtree.
//
// Packages that do not exist yet (noise, multistream, peer, identify,
// ping, host and cmd/yamux are being written) are named already, so the
// intent is visible; a row for a package that does not exist is skipped,
// so rows for new packages can be added before they land.
var importRules = []struct {
	pkg    string
	allow  []string
	forbid []string
}{
	{
		// The core: the standard library and its codec only (README, doc.go). No
		// security layer, no negotiation, no libp2p, no command.
		pkg:    ".",
		allow:  []string{"internal/frame"},
		forbid: []string{"noise/...", "multistream/...", "peer/...", "identify/...", "ping/...", "host/...", "p2pmux/...", "cmd/...", "internal/memconn"},
	},
	{
		// The codec knows frames, never sessions.
		pkg:    "internal/frame",
		forbid: []string{".", "internal/memconn"},
	},
	{
		// The in-memory conn is a transport for tests: no yamux types.
		pkg:    "internal/memconn",
		forbid: []string{".", "internal/frame"},
	},
}

// TestImports checks every row of importRules with go list -deps.
func TestImports(t *testing.T) {
	goTool := importsGoTool(t)
	for _, rule := range importRules {
		t.Run(rule.pkg, func(t *testing.T) {
			if _, err := os.Stat(filepath.FromSlash(rule.pkg)); errors.Is(err, os.ErrNotExist) {
				t.Skipf("package %s does not exist (yet)", rule.pkg)
			}
			self := modulePath(rule.pkg)
			sawSelf := false
			for _, d := range goListDeps(t, goTool, "./"+rule.pkg) {
				if d.ImportPath == self {
					sawSelf = true
					continue
				}
				if d.Standard {
					continue
				}
				for _, f := range rule.forbid {
					if matchPkg(f, d.ImportPath) {
						t.Errorf("%s depends on %s, which it must never import (rule %q)", self, d.ImportPath, f)
					}
				}
				allowed := false
				for _, a := range rule.allow {
					allowed = allowed || matchPkg(a, d.ImportPath)
				}
				if !allowed {
					t.Errorf("%s depends on %s; want only the standard library and %q", self, d.ImportPath, rule.allow)
				}
			}
			if !sawSelf {
				t.Fatalf("go list -deps ./%s did not list %s itself", rule.pkg, self)
			}
		})
	}
}

// TestImportRulesMatch checks matchPkg, which the rules rely on.
func TestImportRulesMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, path string
		want          bool
	}{
		{".", module, true},
		{".", module + "/internal/frame", false},
		{"internal/frame", module + "/internal/frame", true},
		{"internal/frame", module + "/internal/framer", false},
		{"cmd/...", module + "/cmd/yamux", true},
		{"cmd/...", module + "/cmd", true},
		{"cmd/...", module + "/cmdx", false},
		{"noise/...", "github.com/flynn/noise", false},
	} {
		if got := matchPkg(c.pattern, c.path); got != c.want {
			t.Errorf("matchPkg(%q, %q) = %v, want %v", c.pattern, c.path, got, c.want)
		}
	}
}

// modulePath turns a module-relative package path into an import path.
func modulePath(rel string) string {
	if rel == "." {
		return module
	}
	return module + "/" + rel
}

// matchPkg reports whether import path p matches the module-relative
// pattern: one package, or a subtree for a pattern ending in "/...".
func matchPkg(pattern, p string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		root := modulePath(base)
		return p == root || strings.HasPrefix(p, root+"/")
	}
	return p == modulePath(pattern)
}

// listedPackage is the part of go list -json's output the rules need.
type listedPackage struct {
	ImportPath string
	Standard   bool
}

// goListDeps returns pkg and everything it depends on (test files aside).
func goListDeps(t testing.TB, goTool, pkg string) []listedPackage {
	t.Helper()
	out, err := exec.Command(goTool, "list", "-deps", "-json=ImportPath,Standard", pkg).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, ee.Stderr)
		}
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	var deps []listedPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		deps = append(deps, p)
	}
	return deps
}

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
