package main

import (
	"fmt"
	"io"
	"strings"
)

// Target is one of issue 10's goals for ours, checked against a report.
type Target struct {
	Row      string // the issue's row
	Scenario string
	Metric   string
	Kind     targetKind
	Bound    float64
	Peer     string // for atLeastVsPeer and atMostVsPeer
	Who      string // the contender held to it; "" is ours
}

type targetKind int

const (
	atLeastVsRaw  targetKind = iota // median per-round ratio to raw ≥ Bound
	atMostVsRaw                     // median per-round ratio to raw ≤ Bound
	atLeastAbs                      // median ≥ Bound
	atMostAbs                       // median ≤ Bound
	atLeastVsPeer                   // median per-round ratio to Peer ≥ Bound
	atMostVsPeer                    // median per-round ratio to Peer ≤ Bound
	aheadOfPeers                    // better than every peer (per-round median ratio)
)

// issueTargets are issue 10's targets, row by row.
func issueTargets() []Target {
	return []Target{
		{Row: "1 stream bulk, AF_UNIX: throughput ≥ 0.80× raw", Scenario: "bulk-unix", Metric: "mibps", Kind: atLeastVsRaw, Bound: 0.80},
		{Row: "1 stream bulk, AF_UNIX: CPU/MiB ≤ 1.4× raw", Scenario: "bulk-unix", Metric: "cpu_us_per_mib", Kind: atMostVsRaw, Bound: 1.4},
		{Row: "1 stream bulk, TCP: CPU/MiB ≤ 0.60× raw", Scenario: "bulk-tcp", Metric: "cpu_us_per_mib", Kind: atMostVsRaw, Bound: 0.60},
		{Row: "1 stream bulk, TCP: CPU/MiB below every peer", Scenario: "bulk-tcp", Metric: "cpu_us_per_mib", Kind: aheadOfPeers},
		{Row: "1 stream bulk, TCP: throughput ≥ every peer", Scenario: "bulk-tcp", Metric: "mibps", Kind: aheadOfPeers},
		{Row: "1 stream bulk, TCP: ≤ 0.01 allocs/MiB", Scenario: "bulk-tcp", Metric: "allocs_per_mib", Kind: atMostAbs, Bound: 0.01},
		{Row: "ping-pong: round trips/s ≥ 0.75× raw", Scenario: "pingpong-tcp", Metric: "rt_per_s", Kind: atLeastVsRaw, Bound: 0.75},
		{Row: "ping-pong: p99 ≤ 1.5× raw", Scenario: "pingpong-tcp", Metric: "p99_us", Kind: atMostVsRaw, Bound: 1.5},
		{Row: "64 streams × 16 MiB: ≥ 1.10× 64 raw conns", Scenario: "multi-tcp", Metric: "mibps", Kind: atLeastVsRaw, Bound: 1.10},
		{Row: "64 streams × 16 MiB: slowest stream ≥ 0.8× mean", Scenario: "multi-tcp", Metric: "slowest_vs_mean", Kind: atLeastAbs, Bound: 0.8},
		{Row: "10,000 idle streams: ≤ 768 heap B/stream", Scenario: "idle-tcp", Metric: "heap_b_per_stream", Kind: atMostAbs, Bound: 768},
		{Row: "churn sequential: ≥ 1.6× go-yamux", Scenario: "churn-seq-tcp", Metric: "streams_per_s", Kind: atLeastVsPeer, Peer: "go-yamux", Bound: 1.6},
		{Row: "churn 32 parallel: ≥ 2.0× go-yamux", Scenario: "churn-par32-tcp", Metric: "streams_per_s", Kind: atLeastVsPeer, Peer: "go-yamux", Bound: 2.0},
		{Row: "fairness: ping p99 ≤ 2 ms", Scenario: "fairness-tcp", Metric: "pp_p99_us", Kind: atMostAbs, Bound: 2000},
		{Row: "fairness: ping p99 ahead of every peer", Scenario: "fairness-tcp", Metric: "pp_p99_us", Kind: aheadOfPeers},
		{Row: "scale 1,000 × 1 MiB: throughput ahead of every peer", Scenario: "scale-tcp", Metric: "mibps", Kind: aheadOfPeers},
		{Row: "scale: msgs/s at 10,000 open ≥ 0.9× at 10 open (no per-frame cost growing with streams)", Scenario: "openstreams-tcp", Metric: "flatness", Kind: atLeastAbs, Bound: 0.9},
		{Row: "stack bulk: ours over Noise ≥ 0.97× bare Noise", Scenario: "bulk-tcp", Metric: "mibps", Kind: atLeastVsPeer, Peer: "noise", Who: "ours+noise", Bound: 0.97},
		{Row: "stack bulk: ours over Noise ≤ 17 write syscalls/MiB", Scenario: "bulk-tcp", Metric: "writes_per_mib", Kind: atMostAbs, Who: "ours+noise", Bound: 17},
		{Row: "stack dial → first echo: ours over Noise ≤ 0.6× go-libp2p (p50)", Scenario: "dial-echo-tcp", Metric: "p50_us", Kind: atMostVsPeer, Peer: "go-libp2p", Who: "ours+noise", Bound: 0.6},
		{Row: "stack ping-pong: ours over Noise ≥ 1.5× go-libp2p round trips/s", Scenario: "pingpong-tcp", Metric: "rt_per_s", Kind: atLeastVsPeer, Peer: "go-libp2p", Who: "ours+noise", Bound: 1.5},
	}
}

// check evaluates t against the report: the measured figure, and whether
// the target is met (ok false: no data).
func (t Target) check(r *Report) (measured string, met, ok bool) {
	who := t.Who
	if who == "" {
		who = "ours"
	}
	var ms *MetricSummary
	for i := range r.Summary {
		if r.Summary[i].Scenario == t.Scenario && r.Summary[i].Key == t.Metric {
			ms = &r.Summary[i]
		}
	}
	if ms == nil {
		return "", false, false
	}
	switch t.Kind {
	case atLeastVsRaw, atMostVsRaw:
		st, found := ms.VsRaw[who]
		if !found {
			return "", false, false
		}
		if t.Kind == atLeastVsRaw {
			return fmtRatio(st, true), st.Median >= t.Bound, true
		}
		return fmtRatio(st, true), st.Median <= t.Bound, true
	case atLeastAbs, atMostAbs:
		st, found := ms.Values[who]
		if !found {
			return "", false, false
		}
		v := fmtNum(st.Median) + " " + ms.Label
		if t.Kind == atLeastAbs {
			return v, st.Median >= t.Bound, true
		}
		return v, st.Median <= t.Bound, true
	case atLeastVsPeer:
		st, found := ms.VsPeer[who][t.Peer]
		if !found {
			return "", false, false
		}
		return fmtRatio(st, true) + " " + t.Peer, st.Median >= t.Bound, true
	case atMostVsPeer:
		st, found := ms.VsPeer[who][t.Peer]
		if !found {
			return "", false, false
		}
		return fmtRatio(st, true) + " " + t.Peer, st.Median <= t.Bound, true
	case aheadOfPeers:
		vp := ms.VsPeer[who]
		if len(vp) == 0 {
			return "", false, false
		}
		met = true
		var parts []string
		for _, c := range r.Contenders {
			st, found := vp[c.Name]
			if !found || c.Base != r.baseOf(who) {
				continue // only peers of the same group: plain against plain
			}
			ahead := st.Median >= 1
			if !ms.Higher {
				ahead = st.Median <= 1
			}
			met = met && ahead
			parts = append(parts, fmt.Sprintf("%s %s", fmtRatio(st, true), c.Name))
		}
		return strings.Join(parts, ", "), met, true
	}
	return "", false, false
}

// baseOf is the reference contender of the named one.
func (r *Report) baseOf(name string) string {
	for _, c := range r.Contenders {
		if c.Name == name {
			return c.Base
		}
	}
	return ""
}

// writeTargets renders the targets table.
func (r *Report) writeTargets(w io.Writer) {
	fmt.Fprintf(w, "| issue-10 target | measured | met |\n|---|---|:-:|\n")
	for _, t := range issueTargets() {
		m, met, ok := t.check(r)
		mark := "no"
		switch {
		case !ok:
			m, mark = "not measured", "—"
		case met:
			mark = "**yes**"
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", t.Row, m, mark)
	}
}
