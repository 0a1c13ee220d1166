package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// Sample is one scenario run of one contender in one round.
type Sample struct {
	Round     int                `json:"round"`
	Scenario  string             `json:"scenario"`
	Contender string             `json:"contender"`
	Values    map[string]float64 `json:"values,omitempty"`
	Err       string             `json:"error,omitempty"`
}

// Report is the harness's JSON output; the markdown and the plot are made
// from it alone (-from re-renders a saved one).
type Report struct {
	Meta       Meta              `json:"meta"`
	Contenders []ContenderInfo   `json:"contenders"`
	Scenarios  []ScenarioInfo    `json:"scenarios"`
	Samples    []Sample          `json:"samples"`
	Summary    []MetricSummary   `json:"summary"`
	Params     map[string]string `json:"params"`
}

// Meta says where and how the run was made.
type Meta struct {
	Command   string `json:"command"`
	Mode      string `json:"mode"`
	Rounds    int    `json:"rounds"`
	GoVersion string `json:"go_version"`
	Start     string `json:"start"`
	End       string `json:"end"`
	NumCPU    int    `json:"num_cpu"`
	CPU       string `json:"cpu"`
	FDLimit   uint64 `json:"fd_limit"`
	// LoadStart and LoadEnd are /proc/loadavg when the run began and ended:
	// on a shared machine, other jobs' load is part of the conditions.
	LoadStart string `json:"loadavg_start"`
	LoadEnd   string `json:"loadavg_end"`
}

// ContenderInfo describes one column.
type ContenderInfo struct {
	Name string `json:"name"`
	Note string `json:"note"`
	// Base is the contender this one's ratios are read against: raw, or
	// bare Noise for the stack contenders.
	Base string `json:"base"`
}

// ScenarioInfo describes one scenario and its metrics.
type ScenarioInfo struct {
	Name    string   `json:"name"`
	Desc    string   `json:"desc"`
	Metrics []Metric `json:"metrics"`
}

// MetricSummary is every contender's figure for one metric of one scenario.
type MetricSummary struct {
	Scenario string `json:"scenario"`
	Metric
	Values map[string]Stat `json:"values"`
	// VsRaw is each contender's per-round ratio to raw.
	VsRaw map[string]Stat `json:"vs_raw"`
	// VsPeer[a][b] is a's per-round ratio to b, for every pair of muxers.
	VsPeer map[string]map[string]Stat `json:"vs_peer"`
}

// summarizeReport fills Summary from Samples.
func (r *Report) summarizeReport() {
	r.Summary = nil
	byKey := map[[3]string]map[int]float64{} // scenario, metric, contender → round → value
	for _, s := range r.Samples {
		for k, v := range s.Values {
			key := [3]string{s.Scenario, k, s.Contender}
			if byKey[key] == nil {
				byKey[key] = map[int]float64{}
			}
			byKey[key][s.Round] = v
		}
	}
	vals := func(m map[int]float64) []float64 {
		var out []float64
		for _, v := range m {
			out = append(out, v)
		}
		return out
	}
	for _, sc := range r.Scenarios {
		for _, m := range sc.Metrics {
			ms := MetricSummary{Scenario: sc.Name, Metric: m, Values: map[string]Stat{},
				VsRaw: map[string]Stat{}, VsPeer: map[string]map[string]Stat{}}
			raw := byKey[[3]string{sc.Name, m.Key, "raw"}]
			for _, c := range r.Contenders {
				cur := byKey[[3]string{sc.Name, m.Key, c.Name}]
				if len(cur) == 0 {
					continue
				}
				ms.Values[c.Name] = summarize(vals(cur))
				if m.NoRatio {
					continue
				}
				if rr := roundRatios(cur, raw); len(rr) > 0 && !m.NoRawRatio {
					ms.VsRaw[c.Name] = summarize(rr)
				}
				if c.Name == "raw" {
					continue
				}
				for _, p := range r.Contenders {
					if p.Name == c.Name || p.Name == "raw" {
						continue
					}
					if rr := roundRatios(cur, byKey[[3]string{sc.Name, m.Key, p.Name}]); len(rr) > 0 {
						if ms.VsPeer[c.Name] == nil {
							ms.VsPeer[c.Name] = map[string]Stat{}
						}
						ms.VsPeer[c.Name][p.Name] = summarize(rr)
					}
				}
			}
			r.Summary = append(r.Summary, ms)
		}
	}
}

func (r *Report) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func readReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("muxbench: %s: %w", path, err)
	}
	return &r, nil
}

// fmtNum prints a figure with about three significant digits.
func fmtNum(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v):
		return "—"
	case a >= 10000:
		return addCommas(fmt.Sprintf("%.0f", v))
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 0.1 || a == 0:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3f", v)
}

func addCommas(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func fmtRatio(st Stat, ok bool) string {
	if !ok || st.N == 0 {
		return "—"
	}
	return fmt.Sprintf("%s×", fmtRatioNum(st.Median))
}

func fmtRatioNum(v float64) string {
	if math.Abs(v) >= 10 {
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func arrow(m Metric) string {
	if m.Higher {
		return "↑"
	}
	return "↓"
}

// writeMarkdown renders the tables: medians with ranges, per-round ratios
// against each group's reference (raw, or bare Noise for the stack), and
// ours against every peer of its group.
func (r *Report) writeMarkdown(w io.Writer) {
	fmt.Fprintf(w, "Run: `%s` (mode %s, %d rounds), %s, %d CPUs (%s), %s – %s; load average %s at the start, %s at the end.\n\n",
		r.Meta.Command, r.Meta.Mode, r.Meta.Rounds, r.Meta.GoVersion, r.Meta.NumCPU, r.Meta.CPU, r.Meta.Start, r.Meta.End, r.Meta.LoadStart, r.Meta.LoadEnd)

	fmt.Fprintf(w, "### Issue-10 targets\n\n")
	r.writeTargets(w)

	plain := r.group("raw")
	fmt.Fprintf(w, "\n### Medians (min–max over rounds)\n\n")
	r.valueTable(w, plain)
	fmt.Fprintf(w, "\n### Per-round ratio against raw (median, min–max)\n\n")
	r.ratioTable(w, plain[1:], func(ms *MetricSummary, n string) (Stat, bool) {
		st, ok := ms.VsRaw[n]
		return st, ok
	})
	r.oursTable(w, "ours", plain)

	if stack := r.group("noise"); len(stack) > 0 {
		fmt.Fprintf(w, "\n### The libp2p stack: TCP + Noise, medians (min–max over rounds)\n\n")
		r.valueTable(w, append([]string{"raw"}, stack...))
		fmt.Fprintf(w, "\n### The libp2p stack: per-round ratio against bare Noise (median, min–max)\n\n")
		r.ratioTable(w, stack[1:], func(ms *MetricSummary, n string) (Stat, bool) {
			st, ok := ms.VsPeer[n]["noise"]
			return st, ok
		})
		r.oursTable(w, "ours+noise", stack)
	}
	r.writeNotes(w)
}

// group lists the contenders read against base, base first.
func (r *Report) group(base string) []string {
	var names []string
	for _, c := range r.Contenders {
		if c.Name == base {
			names = append([]string{c.Name}, names...)
		} else if c.Base == base || (c.Base == "" && base == "raw") {
			names = append(names, c.Name)
		}
	}
	if len(names) == 1 && names[0] == base && base != "raw" {
		return nil
	}
	return names
}

func tableHeader(w io.Writer, cols []string) {
	fmt.Fprintf(w, "| scenario | figure | %s |\n|---|---|%s\n", strings.Join(cols, " | "), strings.Repeat("---:|", len(cols)))
}

// valueTable prints medians and ranges of the named contenders, for the
// figures at least one of them (other than raw) has.
func (r *Report) valueTable(w io.Writer, names []string) {
	tableHeader(w, names)
	for _, ms := range r.Summary {
		has := false
		for _, n := range names {
			if _, ok := ms.Values[n]; ok && (n != "raw" || len(names) == 1) {
				has = true
			}
		}
		if !has {
			continue
		}
		fmt.Fprintf(w, "| %s | %s %s |", ms.Scenario, ms.Label, arrow(ms.Metric))
		for _, n := range names {
			st, ok := ms.Values[n]
			if !ok {
				fmt.Fprintf(w, " — |")
				continue
			}
			fmt.Fprintf(w, " %s <sub>%s–%s</sub> |", fmtNum(st.Median), fmtNum(st.Min), fmtNum(st.Max))
		}
		fmt.Fprintln(w)
	}
}

// ratioTable prints the ratio get returns for each named contender, for
// the figures where at least one has one.
func (r *Report) ratioTable(w io.Writer, names []string, get func(*MetricSummary, string) (Stat, bool)) {
	tableHeader(w, names)
	for i := range r.Summary {
		ms := &r.Summary[i]
		has := false
		for _, n := range names {
			if _, ok := get(ms, n); ok {
				has = true
			}
		}
		if !has {
			continue
		}
		fmt.Fprintf(w, "| %s | %s %s |", ms.Scenario, ms.Label, arrow(ms.Metric))
		for _, n := range names {
			st, ok := get(ms, n)
			if !ok {
				fmt.Fprintf(w, " — |")
				continue
			}
			fmt.Fprintf(w, " %s <sub>%s–%s</sub> |", fmtRatio(st, ok), fmtRatioNum(st.Min), fmtRatioNum(st.Max))
		}
		fmt.Fprintln(w)
	}
}

// oursTable prints who against every other contender of its group but the
// group's reference.
func (r *Report) oursTable(w io.Writer, who string, group []string) {
	var peers []string
	found := false
	for _, n := range group[1:] {
		if n == who {
			found = true
		} else {
			peers = append(peers, n)
		}
	}
	if !found || len(peers) == 0 {
		return
	}
	fmt.Fprintf(w, "\n### Per-round ratio of %s against each peer (median, min–max)\n\n", who)
	fmt.Fprintf(w, "Above 1× is %s ahead on ↑ figures and behind on ↓ figures.\n\n", who)
	r.ratioTable(w, peers, func(ms *MetricSummary, n string) (Stat, bool) {
		st, ok := ms.VsPeer[who][n]
		return st, ok
	})
}

// writeNotes lists failed runs, the contenders and the scenarios.
func (r *Report) writeNotes(w io.Writer) {
	var failed []Sample
	for _, s := range r.Samples {
		if s.Err != "" {
			failed = append(failed, s)
		}
	}
	if len(failed) > 0 {
		fmt.Fprintf(w, "\n### Failed runs\n\n")
		for _, s := range failed {
			fmt.Fprintf(w, "- round %d, %s, %s: %s\n", s.Round, s.Scenario, s.Contender, s.Err)
		}
	}
	fmt.Fprintf(w, "\n### Contenders\n\n")
	for _, c := range r.Contenders {
		fmt.Fprintf(w, "- **%s**: %s\n", c.Name, c.Note)
	}
	fmt.Fprintf(w, "\n### Scenarios\n\n")
	for _, s := range r.Scenarios {
		fmt.Fprintf(w, "- **%s**: %s\n", s.Name, s.Desc)
	}
}
