// Command muxbench measures Go stream multiplexers side by side in one
// process: ours, hashicorp/yamux, go-yamux (default and 16 MiB window) and
// smux, each against raw sockets carrying the same bytes. Contenders run
// interleaved round by round (A B C A B C …); every figure is reported as a
// median with its range, as per-round ratios against raw, and as ours
// against every peer. Output: JSON (everything), markdown (the tables) and
// an SVG plot made from the JSON.
//
//	cd bench && go run . -mode quick        # ≈ 2 minutes
//	cd bench && go run . -mode full         # ≈ 10 minutes, for BENCHMARKS.md
//	cd bench && go run . -from out/muxbench.json   # re-render tables and plot
//
// A contender is a stack of layers (transport, optional security, optional
// multiplexer; see contender.go), so Noise or libp2p stacks slot in as more
// contenders without changing the scenarios.
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "muxbench:", err)
		os.Exit(1)
	}
}

// modeParams returns the sizes of a mode.
func modeParams(mode string) (*Params, int, error) {
	switch mode {
	case "full":
		return &Params{
			BulkBytes: 768 * mib, BulkWarm: 32 * mib, PingDur: time.Second,
			MultiStreams: 64, MultiBytes: 16 * mib, IdleStreams: 10000,
			ChurnDur: time.Second, ChurnPar: 32, FairGreedy: 16, FairDur: time.Second,
			ScaleStreams: 1000, ScaleBytes: mib, OpenLevels: []int{10, 1000, 10000}, OpenDur: 500 * time.Millisecond,
			Timeout: 3 * time.Minute,
		}, 8, nil
	case "quick":
		return &Params{
			BulkBytes: 128 * mib, BulkWarm: 16 * mib, PingDur: 300 * time.Millisecond,
			MultiStreams: 64, MultiBytes: 2 * mib, IdleStreams: 10000,
			ChurnDur: 300 * time.Millisecond, ChurnPar: 32, FairGreedy: 16, FairDur: 300 * time.Millisecond,
			ScaleStreams: 1000, ScaleBytes: 256 << 10, OpenLevels: []int{10, 1000, 10000}, OpenDur: 150 * time.Millisecond,
			Timeout: time.Minute,
		}, 5, nil
	case "smoke":
		return &Params{
			BulkBytes: 4 * mib, BulkWarm: mib, PingDur: 40 * time.Millisecond,
			MultiStreams: 8, MultiBytes: 256 << 10, IdleStreams: 200,
			ChurnDur: 40 * time.Millisecond, ChurnPar: 32, FairGreedy: 4, FairDur: 40 * time.Millisecond,
			ScaleStreams: 100, ScaleBytes: 64 << 10, OpenLevels: []int{10, 100}, OpenDur: 30 * time.Millisecond,
			Timeout: 20 * time.Second,
		}, 1, nil
	}
	return nil, 0, fmt.Errorf("unknown mode %q (quick, full, smoke)", mode)
}

// allScenarios lists the scenarios in report order.
func allScenarios(p *Params) []Scenario {
	return []Scenario{
		bulkScenario(Unix),
		bulkScenario(TCP),
		pingpongScenario(),
		multiScenario(),
		idleScenario(),
		churnScenario(1),
		churnScenario(p.ChurnPar),
		fairnessScenario(),
		scaleScenario(),
		openStreamsScenario(p.OpenLevels),
		dialEchoScenario(),
	}
}

func selectScenarios(all []Scenario, names string) ([]Scenario, error) {
	if names == "" {
		return all, nil
	}
	var out []Scenario
	for _, n := range strings.Split(names, ",") {
		found := false
		for _, s := range all {
			if s.Name == strings.TrimSpace(n) {
				out = append(out, s)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown scenario %q", n)
		}
	}
	return out, nil
}

// options are the command-line settings.
type options struct {
	mode, scenarios, contenders, out, from, cpuprofile, memprofile, trace, profile string
	rounds                                                                         int
	quiet                                                                          bool
}

func run(args []string) error {
	var o options
	fs := flag.NewFlagSet("muxbench", flag.ContinueOnError)
	fs.StringVar(&o.mode, "mode", "quick", "quick (≈ 2 min), full (≈ 10 min) or smoke (seconds, for CI)")
	fs.IntVar(&o.rounds, "rounds", 0, "rounds (0: the mode's default, 5 for quick, 8 for full)")
	fs.StringVar(&o.scenarios, "scenarios", "", "comma-separated scenarios to run (default all)")
	fs.StringVar(&o.contenders, "contenders", "", "comma-separated contenders (raw is always included)")
	fs.StringVar(&o.out, "out", "out", "directory for muxbench.json, .md and .svg")
	fs.StringVar(&o.from, "from", "", "re-render markdown and SVG from this JSON instead of measuring")
	fs.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of each run of the -profile contender to <this prefix>-<scenario>-r<round>.pprof")
	fs.StringVar(&o.memprofile, "memprofile", "", "record every allocation (slow) and write heap profiles of the -profile contender's runs to <this prefix>-<scenario>-r<round>[-<point>].pprof")
	fs.StringVar(&o.trace, "trace", "", "write an execution trace of each run of the -profile contender to <this prefix>-<scenario>-r<round>.trace (go tool trace; -pprof=sched shows where goroutines waited to run)")
	fs.StringVar(&o.profile, "profile", "ours", "the contender -cpuprofile, -memprofile and -trace profile")
	fs.BoolVar(&o.quiet, "q", false, "no progress lines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var rep *Report
	if o.from != "" {
		var err error
		if rep, err = readReport(o.from); err != nil {
			return err
		}
	} else {
		var err error
		if rep, err = measure(o, args); err != nil {
			return err
		}
	}
	return writeOutputs(rep, o.out)
}

func writeOutputs(rep *Report, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := rep.writeJSON(filepath.Join(dir, "muxbench.json")); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "muxbench.md"))
	if err != nil {
		return err
	}
	rep.writeMarkdown(f)
	if err := f.Close(); err != nil {
		return err
	}
	return rep.writeSVGFile(filepath.Join(dir, "muxbench.svg"))
}

// measure runs every round: within a round each scenario runs once per
// contender, contenders back to back, so one scenario's figures for all
// contenders are taken under the same machine load.
func measure(o options, args []string) (*Report, error) {
	p, rounds, err := modeParams(o.mode)
	if err != nil {
		return nil, err
	}
	if o.rounds > 0 {
		rounds = o.rounds
	}
	if o.memprofile != "" {
		runtime.MemProfileRate = 1
	}
	fdLimit := raiseFileLimit()
	p.RawStreamLimit = int(fdLimit-512) / 2
	scenarios, err := selectScenarios(allScenarios(p), o.scenarios)
	if err != nil {
		return nil, err
	}
	all, err := allContenders()
	if err != nil {
		return nil, err
	}
	contenders, err := selectContenders(all, o.contenders)
	if err != nil {
		return nil, err
	}
	rep := &Report{Meta: Meta{
		Command:   "go run . " + strings.Join(args, " "),
		Mode:      o.mode,
		Rounds:    rounds,
		GoVersion: runtime.Version(),
		Start:     time.Now().UTC().Format(time.RFC3339),
		NumCPU:    runtime.NumCPU(),
		CPU:       cpuModel(),
		FDLimit:   fdLimit,
		LoadStart: loadAvg(),
	}, Params: map[string]string{}}
	rep.Params["params"] = fmt.Sprintf("%+v", *p)
	for _, c := range contenders {
		base := c.Base
		if base == "" {
			base = "raw"
		}
		rep.Contenders = append(rep.Contenders, ContenderInfo{Name: c.Name, Note: c.Note, Base: base})
	}
	for _, s := range scenarios {
		rep.Scenarios = append(rep.Scenarios, ScenarioInfo{Name: s.Name, Desc: s.Desc, Metrics: s.Metrics})
	}
	for round := range rounds {
		for _, s := range scenarios {
			for _, c := range contenders {
				if !c.runs(s.Name) {
					continue
				}
				var stopProfile func() error
				if o.cpuprofile != "" && c.Name == o.profile {
					if stopProfile, err = startProfile(fmt.Sprintf("%s-%s-r%d.pprof", o.cpuprofile, s.Name, round+1)); err != nil {
						return nil, err
					}
				}
				var stopTrace func() error
				if o.trace != "" && c.Name == o.profile {
					if stopTrace, err = startTrace(fmt.Sprintf("%s-%s-r%d.trace", o.trace, s.Name, round+1)); err != nil {
						return nil, err
					}
				}
				p.heapProfile = ""
				if o.memprofile != "" && c.Name == o.profile {
					p.heapProfile = fmt.Sprintf("%s-%s-r%d", o.memprofile, s.Name, round+1)
				}
				vals, err := runScenario(s, c, p)
				if p.heapProfile != "" {
					if perr := writeHeapProfile(p.heapProfile + ".pprof"); perr != nil {
						return nil, perr
					}
				}
				if stopProfile != nil {
					if perr := stopProfile(); perr != nil {
						return nil, perr
					}
				}
				if stopTrace != nil {
					if perr := stopTrace(); perr != nil {
						return nil, perr
					}
				}
				smp := Sample{Round: round, Scenario: s.Name, Contender: c.Name}
				if err != nil {
					smp.Err = err.Error()
				} else {
					smp.Values = map[string]float64{}
					for k, v := range vals {
						if !math.IsNaN(v) && !math.IsInf(v, 0) {
							smp.Values[k] = v
						}
					}
				}
				rep.Samples = append(rep.Samples, smp)
				if !o.quiet {
					fmt.Fprintf(os.Stderr, "round %d %-16s %-13s %s\n", round+1, s.Name, c.Name, brief(s, smp))
				}
			}
		}
	}
	rep.Meta.End = time.Now().UTC().Format(time.RFC3339)
	rep.Meta.LoadEnd = loadAvg()
	rep.summarizeReport()
	return rep, nil
}

// brief is the progress line of one run: its headline figures.
func brief(s Scenario, smp Sample) string {
	if smp.Err != "" {
		return "ERROR " + smp.Err
	}
	var parts []string
	for _, m := range s.Metrics {
		if v, ok := smp.Values[m.Key]; ok && m.Headline {
			parts = append(parts, fmt.Sprintf("%s %s", fmtNum(v), m.Label))
		}
	}
	return strings.Join(parts, ", ")
}

// startProfile profiles the CPU into path until the returned function runs.
// Profiles of several runs merge with `go tool pprof -top a.pprof b.pprof`.
func startProfile(path string) (func() error, error) {
	return recordTo(path, pprof.StartCPUProfile, pprof.StopCPUProfile)
}

// startTrace records an execution trace into path until the returned
// function runs.
func startTrace(path string) (func() error, error) {
	return recordTo(path, trace.Start, trace.Stop)
}

// recordTo runs start on a new file at path; the returned function stops
// the recording and closes the file.
func recordTo(path string, start func(io.Writer) error, stop func()) (func() error, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := start(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		stop()
		return f.Close()
	}, nil
}

// writeHeapProfile writes the heap profile: in-use and (cumulative since
// the start) allocated objects and bytes.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// loadAvg is the 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
