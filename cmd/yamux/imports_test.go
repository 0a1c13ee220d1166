package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLibraryGraphHasNoCLIDeps: the CLI's dependencies (Prometheus and what
// it pulls in) stay out of every library package's import graph; only
// cmd/ may have them.
func TestLibraryGraphHasNoCLIDeps(t *testing.T) {
	out, err := exec.Command(goTool(), "list", "-f", `{{.ImportPath}}`, "github.com/yamuxgo/yamux/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var libs []string
	for _, p := range strings.Fields(string(out)) {
		if !strings.Contains(p, "/cmd/") {
			libs = append(libs, p)
		}
	}
	deps, err := exec.Command(goTool(), append([]string{"list", "-deps", "-f", `{{.ImportPath}}`}, libs...)...).Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, d := range strings.Fields(string(deps)) {
		if strings.Contains(d, "prometheus") || strings.Contains(d, "/cmd/") {
			t.Errorf("a library package depends on %s", d)
		}
	}
	perfDeps, err := exec.Command(goTool(), "list", "-deps", "-f", `{{if not .Standard}}{{.ImportPath}}{{end}}`, "github.com/yamuxgo/yamux/perf").Output()
	if err != nil {
		t.Fatalf("go list -deps perf: %v", err)
	}
	if got := strings.Fields(string(perfDeps)); len(got) != 1 || got[0] != "github.com/yamuxgo/yamux/perf" {
		t.Errorf("perf depends on %v, want the standard library only", got)
	}
}
