// Command tracewait reads an execution trace of the fairness scenario
// (muxbench -scenarios fairness-tcp -trace PREFIX) and says where the
// ping's time goes: for each kind of goroutine, how long it waited to run
// once runnable and how long it was blocked, and who made it runnable
// (the network poller or which goroutine); and, for the ping's round
// trips, how long each leg took: to the server's echo being made runnable
// (out), the echo waiting to run, the echo's own work, the way back to
// the ping's goroutine being made runnable (back), and the ping waiting
// to run. BENCHMARKS.md, "The fourth pass", was found this way.
//
//	go run ./tracewait out/trace-fairness-tcp-r1.trace
//
// Goroutines are told apart by the functions on their stacks, those of
// scen_fairness.go and of the multiplexers' loops (recvLoop, sendLoop:
// ours and hashicorp's share the names); the rest are "other".
package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/exp/trace"
)

// kinds maps a function name's suffix on a goroutine's stack to its kind;
// the innermost match wins.
var kinds = []struct{ suffix, kind string }{
	{".pingLoop", "ping"},
	{"main.echo", "echo"},
	{".recvLoop", "recv loop"},
	{".sendLoop", "send loop"},
	{"main.runFairness.func3", "bulk writer"},
	{"main.runFairness.func1.1", "bulk reader"},
}

func kindOf(s trace.Stack) string {
	for f := range s.Frames() {
		for _, k := range kinds {
			if strings.HasSuffix(f.Func, k.suffix) {
				return k.kind
			}
		}
	}
	return ""
}

// transition is one goroutine state change.
type transition struct {
	at       trace.Time
	g, by    trace.GoID // by: the goroutine that made it (NoGoroutine: the scheduler or poller)
	from, to trace.GoState
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: tracewait TRACE")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "tracewait:", err)
		os.Exit(1)
	}
}

func run(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := trace.NewReader(f)
	if err != nil {
		return err
	}
	kind := map[trace.GoID]string{}
	var all []transition
	for {
		ev, err := r.ReadEvent()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if ev.Kind() != trace.EventStateTransition {
			continue
		}
		st := ev.StateTransition()
		if st.Resource.Kind != trace.ResourceGoroutine {
			continue
		}
		g := st.Resource.Goroutine()
		if k := kindOf(st.Stack); k != "" {
			kind[g] = k
		} else if k := kindOf(ev.Stack()); k != "" && ev.Goroutine() == g {
			kind[g] = k
		}
		from, to := st.Goroutine()
		all = append(all, transition{at: ev.Time(), g: g, by: ev.Goroutine(), from: from, to: to})
	}
	name := func(g trace.GoID) string {
		if k := kind[g]; k != "" {
			return k
		}
		return "other"
	}
	perKind(all, name)
	roundTrips(all, name)
	return nil
}

// perKind prints, per kind, the waits to run and the blocked times.
func perKind(all []transition, name func(trace.GoID) string) {
	runnable := map[trace.GoID]trace.Time{}
	blocked := map[trace.GoID]trace.Time{}
	toRun := map[string][]time.Duration{}
	inWait := map[string][]time.Duration{}
	wokenBy := map[string]map[string]int{}
	for _, t := range all {
		k := name(t.g)
		switch t.to {
		case trace.GoWaiting:
			blocked[t.g] = t.at
		case trace.GoRunnable:
			runnable[t.g] = t.at
			if at, ok := blocked[t.g]; ok && t.from == trace.GoWaiting {
				inWait[k] = append(inWait[k], time.Duration(t.at-at))
				delete(blocked, t.g)
				by := "poller/scheduler"
				if t.by != trace.NoGoroutine {
					by = name(t.by)
				}
				if wokenBy[k] == nil {
					wokenBy[k] = map[string]int{}
				}
				wokenBy[k][by]++
			}
		case trace.GoRunning:
			if at, ok := runnable[t.g]; ok {
				toRun[k] = append(toRun[k], time.Duration(t.at-at))
				delete(runnable, t.g)
			}
		}
	}
	fmt.Println("kind          waits to run: n   p50      p99      max    | blocked: p50    p99      | made runnable by")
	for _, k := range []string{"ping", "echo", "recv loop", "send loop", "bulk writer", "bulk reader", "other"} {
		r, w := toRun[k], inWait[k]
		if len(r) == 0 && len(w) == 0 {
			continue
		}
		fmt.Printf("%-12s %8d %8s %8s %8s | %8s %8s | %v\n", k, len(r), q(r, 0.5), q(r, 0.99), q(r, 1), q(w, 0.5), q(w, 0.99), wokenBy[k])
	}
}

// roundTrips splits the ping's round trips into legs (see the package
// comment) and prints the quantiles of the whole and the mean legs of the
// slowest 2 %.
func roundTrips(all []transition, name func(trace.GoID) string) {
	type trip struct{ out, echoWait, echo, back, pingWait, total time.Duration }
	var trips []trip
	var t0, t1, t2, t3, t4 trace.Time
	stage := 0
	for _, t := range all {
		k := name(t.g)
		switch {
		case k == "ping" && t.to == trace.GoWaiting && stage <= 1:
			t0, stage = t.at, 1
		case k == "echo" && t.from == trace.GoWaiting && t.to == trace.GoRunnable && stage == 1:
			t1, stage = t.at, 2
		case k == "echo" && t.to == trace.GoRunning && stage == 2:
			t2, stage = t.at, 3
		case k == "echo" && t.to == trace.GoWaiting && stage == 3:
			t3, stage = t.at, 4
		case k == "ping" && t.from == trace.GoWaiting && t.to == trace.GoRunnable && stage == 4:
			t4, stage = t.at, 5
		case k == "ping" && t.to == trace.GoRunning && stage == 5:
			d := func(a, b trace.Time) time.Duration { return time.Duration(b - a) }
			trips = append(trips, trip{d(t0, t1), d(t1, t2), d(t2, t3), d(t3, t4), d(t4, t.at), d(t0, t.at)})
			stage = 0
		}
	}
	if len(trips) < 50 {
		fmt.Printf("\n%d ping round trips found: too few to split\n", len(trips))
		return
	}
	slices.SortFunc(trips, func(a, b trip) int { return cmp.Compare(a.total, b.total) })
	totals := make([]time.Duration, len(trips))
	for i, t := range trips {
		totals[i] = t.total
	}
	fmt.Printf("\n%d ping round trips: p50 %s, p90 %s, p99 %s, max %s\n", len(trips), q(totals, 0.5), q(totals, 0.9), q(totals, 0.99), q(totals, 1))
	slow := trips[len(trips)-len(trips)/50:]
	var m trip
	for _, t := range slow {
		m.out += t.out
		m.echoWait += t.echoWait
		m.echo += t.echo
		m.back += t.back
		m.pingWait += t.pingWait
		m.total += t.total
	}
	mean := func(d time.Duration) time.Duration { return (d / time.Duration(len(slow))).Round(time.Microsecond) }
	fmt.Printf("slowest 2 %%, mean legs: total %s = out %s + echo waits to run %s + echo %s + back %s + ping waits to run %s\n",
		mean(m.total), mean(m.out), mean(m.echoWait), mean(m.echo), mean(m.back), mean(m.pingWait))
}

// q is the p quantile of d (sorted here), rounded for reading.
func q(d []time.Duration, p float64) string {
	if len(d) == 0 {
		return "-"
	}
	slices.Sort(d)
	return d[int(float64(len(d)-1)*p)].Round(time.Microsecond).String()
}
