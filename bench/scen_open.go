package main

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Per-message cost against the number of open streams: one active stream
// sends 128-byte writes while N other streams sit idle.
func openStreamsScenario(levels []int) Scenario {
	var ms []Metric
	for i, n := range levels {
		ms = append(ms, Metric{Key: fmt.Sprintf("msgs_per_s_%d", n), Label: fmt.Sprintf("msgs/s @%d open", n), Higher: true, Headline: i == len(levels)-1})
	}
	ms = append(ms, Metric{Key: "flatness", Label: fmt.Sprintf("msgs/s @%d ÷ @%d", levels[len(levels)-1], levels[0]), Higher: true})
	return Scenario{
		Name:    "openstreams-tcp",
		Desc:    "one stream sending 128-byte writes while N streams are open and idle (raw: N idle connections)",
		Metrics: ms,
		Run: func(e *env) (map[string]float64, error) {
			out := map[string]float64{}
			for _, n := range levels {
				v, err := runOpenStreams(e, e.rawCap(n))
				if err != nil {
					return nil, fmt.Errorf("%d open: %w", n, err)
				}
				out[fmt.Sprintf("msgs_per_s_%d", n)] = v
			}
			out["flatness"] = out[fmt.Sprintf("msgs_per_s_%d", levels[len(levels)-1])] / out[fmt.Sprintf("msgs_per_s_%d", levels[0])]
			return out, nil
		},
	}
}

func runOpenStreams(e *env, n int) (float64, error) {
	l, err := e.connect(TCP)
	if err != nil {
		return 0, err
	}
	defer l.Close()
	clients, servers, err := openIdle(l, n)
	if err != nil {
		return 0, err
	}
	cs, ss, err := openPair(l)
	if err != nil {
		return 0, err
	}
	received := newCounter()
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		buf := make([]byte, chunk)
		for {
			k, err := ss.Read(buf)
			received.add(k)
			if err != nil {
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		msg := make([]byte, msgBytes)
		for !stop.Load() {
			if _, err := cs.Write(msg); err != nil {
				return
			}
		}
	}()
	if err := received.waitFor(1000*msgBytes, e.p.Timeout/2); err != nil {
		return 0, err
	}
	b0, t0 := received.load(), time.Now()
	time.Sleep(e.p.OpenDur) // the measurement window itself
	// A stall longer than the window is a result, not a failure: the
	// window then lasts until the next message.
	if err := received.waitFor(b0+msgBytes, e.p.Timeout/2); err != nil {
		return 0, err
	}
	b1, d := received.load(), time.Since(t0)
	stop.Store(true)
	l.Close()
	wg.Wait()
	runtime.KeepAlive(clients)
	runtime.KeepAlive(servers)
	return float64(b1-b0) / msgBytes / d.Seconds(), nil
}
