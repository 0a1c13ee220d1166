package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestSmoke runs every scenario for every contender at the smallest sizes
// (one round), so a change that breaks a scenario or an adapter fails CI.
// It asserts that every run succeeded and reported every figure, and that
// the JSON, markdown and SVG outputs are produced and well formed. It says
// nothing about speed.
func TestSmoke(t *testing.T) {
	o := options{mode: "smoke", out: t.TempDir(), quiet: true}
	rep, err := measure(o, []string{"-mode", "smoke"})
	if err != nil {
		t.Fatal(err)
	}
	p, _, _ := modeParams("smoke")
	scenarios := allScenarios(p)
	contenders, err := allContenders()
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, s := range scenarios {
		for _, c := range contenders {
			if c.runs(s.Name) {
				want++
			}
		}
	}
	if got := len(rep.Samples); got != want {
		t.Fatalf("%d samples, want %d (each contender's scenarios)", got, want)
	}
	w, _ := ioSyscalls()
	haveSyscw := w >= 0
	for _, s := range rep.Samples {
		if s.Err != "" {
			t.Errorf("%s / %s: %s", s.Scenario, s.Contender, s.Err)
			continue
		}
		for _, sc := range scenarios {
			if sc.Name != s.Scenario {
				continue
			}
			for _, m := range sc.Metrics {
				if (m.Key == "writes_per_mib" || m.Key == "reads_per_mib" || m.Key == "syscalls_per_rt") && !haveSyscw {
					continue
				}
				if _, ok := s.Values[m.Key]; !ok {
					t.Errorf("%s / %s: no %s", s.Scenario, s.Contender, m.Key)
				}
			}
		}
	}
	if err := writeOutputs(rep, o.out); err != nil {
		t.Fatal(err)
	}
	// The JSON round-trips into the same tables.
	back, err := readReport(filepath.Join(o.out, "muxbench.json"))
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	rep.writeMarkdown(&a)
	back.writeMarkdown(&b)
	if a.String() != b.String() {
		t.Error("markdown rendered from the saved JSON differs from the original")
	}
	md, err := os.ReadFile(filepath.Join(o.out, "muxbench.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Per-round ratio against raw", "Per-round ratio of ours against each peer", "| bulk-tcp | MiB/s ↑ |",
		"per-round ratio against bare Noise", "Per-round ratio of ours+noise against each peer"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	svg, err := os.ReadFile(filepath.Join(o.out, "muxbench.svg"))
	if err != nil {
		t.Fatal(err)
	}
	checkXML(t, svg)
	if n := bytes.Count(svg, []byte("<rect ")); n < len(contenders)*3 {
		t.Errorf("SVG has %d rects: the bars are missing", n)
	}
}

// checkXML fails unless b is well-formed XML.
func checkXML(t *testing.T, b []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
	}
}
