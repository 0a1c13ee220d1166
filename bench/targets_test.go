package main

import "testing"

// A report with two rounds of one lower-is-better and one higher-is-better
// figure, to check the targets' directions.
func targetReport() *Report {
	r := &Report{
		Contenders: []ContenderInfo{{Name: "raw", Base: "raw"}, {Name: "ours", Base: "raw"}, {Name: "go-yamux", Base: "raw"},
			{Name: "noise", Base: "noise"}},
		Scenarios: []ScenarioInfo{
			{Name: "pingpong-tcp", Metrics: []Metric{{Key: "p99_us", Label: "p99 µs"}, {Key: "rt_per_s", Label: "RT/s", Higher: true}}},
		},
	}
	add := func(round int, c string, p99, rt float64) {
		r.Samples = append(r.Samples, Sample{Round: round, Scenario: "pingpong-tcp", Contender: c,
			Values: map[string]float64{"p99_us": p99, "rt_per_s": rt}})
	}
	add(0, "raw", 10, 100)
	add(0, "ours", 12, 80)
	add(0, "go-yamux", 40, 40)
	add(1, "raw", 20, 200)
	add(1, "ours", 30, 150)
	add(1, "go-yamux", 60, 90)
	// A contender of another group, far behind: it must not count as a
	// peer of ours (and would make "ahead of every peer" trivially true if
	// far ahead, so make it so for the p99 to catch a leak both ways).
	add(0, "noise", 1, 1)
	add(1, "noise", 1, 1)
	r.summarizeReport()
	return r
}

func TestTargets(t *testing.T) {
	r := targetReport()
	cases := []struct {
		t    Target
		want bool
	}{
		// ours/raw p99: 1.2 and 1.5, median 1.35.
		{Target{Scenario: "pingpong-tcp", Metric: "p99_us", Kind: atMostVsRaw, Bound: 1.4}, true},
		{Target{Scenario: "pingpong-tcp", Metric: "p99_us", Kind: atMostVsRaw, Bound: 1.3}, false},
		// ours/raw RT/s: 0.8 and 0.75, median 0.775.
		{Target{Scenario: "pingpong-tcp", Metric: "rt_per_s", Kind: atLeastVsRaw, Bound: 0.75}, true},
		{Target{Scenario: "pingpong-tcp", Metric: "rt_per_s", Kind: atLeastVsRaw, Bound: 0.8}, false},
		// Lower p99 and higher RT/s than go-yamux: ahead on both.
		{Target{Scenario: "pingpong-tcp", Metric: "p99_us", Kind: aheadOfPeers}, true},
		{Target{Scenario: "pingpong-tcp", Metric: "rt_per_s", Kind: aheadOfPeers}, true},
		// ours/go-yamux RT/s: 2 and 1.67.
		{Target{Scenario: "pingpong-tcp", Metric: "rt_per_s", Kind: atLeastVsPeer, Peer: "go-yamux", Bound: 1.8}, true},
		{Target{Scenario: "pingpong-tcp", Metric: "rt_per_s", Kind: atLeastVsPeer, Peer: "go-yamux", Bound: 1.9}, false},
		// ours/go-yamux p99: 0.3 and 0.5, median 0.4.
		{Target{Scenario: "pingpong-tcp", Metric: "p99_us", Kind: atMostVsPeer, Peer: "go-yamux", Bound: 0.45}, true},
		{Target{Scenario: "pingpong-tcp", Metric: "p99_us", Kind: atMostVsPeer, Peer: "go-yamux", Bound: 0.35}, false},
		// Absolute medians: p99 21.
		{Target{Scenario: "pingpong-tcp", Metric: "p99_us", Kind: atMostAbs, Bound: 21}, true},
		{Target{Scenario: "pingpong-tcp", Metric: "p99_us", Kind: atMostAbs, Bound: 20}, false},
	}
	for _, c := range cases {
		_, met, ok := c.t.check(r)
		if !ok {
			t.Fatalf("%+v: no data", c.t)
		}
		if met != c.want {
			t.Errorf("%+v: met = %v, want %v", c.t, met, c.want)
		}
	}
	if _, _, ok := (Target{Scenario: "bulk-tcp", Metric: "mibps", Kind: atLeastVsRaw}).check(r); ok {
		t.Error("a target without data reports a result")
	}
}

func TestPeerBehindIsNotAhead(t *testing.T) {
	r := targetReport()
	// Make go-yamux's p99 better than ours in both rounds.
	for i := range r.Samples {
		if r.Samples[i].Contender == "go-yamux" {
			r.Samples[i].Values["p99_us"] = 1
		}
	}
	r.summarizeReport()
	if _, met, _ := (Target{Scenario: "pingpong-tcp", Metric: "p99_us", Kind: aheadOfPeers}).check(r); met {
		t.Error("ours counted ahead of a peer with a lower p99")
	}
}
