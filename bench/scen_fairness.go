package main

import (
	"errors"
	"io"
	"sync"
	"time"
)

// Head-of-line: one 1-byte ping-pong stream shares the connection with
// greedy bulk streams (raw: one connection each).
func fairnessScenario() Scenario {
	return Scenario{
		Name: "fairness-tcp",
		Desc: "one 1-byte ping-pong stream next to 16 greedy bulk streams on one loopback TCP connection (raw: 17 connections)",
		Metrics: []Metric{
			// Raw is no ceiling here (its 17 busy connections make the Go
			// scheduler the bottleneck, see BENCHMARKS.md), so the ping's
			// figures are read as such and against the peers, not raw.
			{Key: "pp_p50_us", Label: "ping p50 µs", Headline: true, NoRawRatio: true},
			{Key: "pp_p99_us", Label: "ping p99 µs", Headline: true, NoRawRatio: true},
			{Key: "pp_rt_per_s", Label: "ping RT/s", Higher: true},
			// Of the round trip, the time the 1-byte Write itself took.
			{Key: "pp_write_p50_us", Label: "ping Write p50 µs", NoRawRatio: true},
			{Key: "pp_write_p99_us", Label: "ping Write p99 µs", NoRawRatio: true},
			{Key: "bulk_mibps", Label: "bulk MiB/s (with ping)", Higher: true, Headline: true},
			{Key: "bulk_alone_mibps", Label: "bulk MiB/s (alone)", Higher: true},
			{Key: "bulk_loss_pct", Label: "bulk lost to ping %"},
			// How busy the process was (CPU seconds per second, both ends):
			// a ping served from idle CPU takes nothing from the bulk, one
			// served from saturated CPU does.
			{Key: "cpu_cores_alone", Label: "CPU cores busy (bulk alone)", NoRawRatio: true},
			{Key: "cpu_cores_with", Label: "CPU cores busy (with ping)", NoRawRatio: true},
		},
		Run: runFairness,
	}
}

const (
	tagBulk = 'B'
	tagPing = 'P'
)

func runFairness(e *env) (map[string]float64, error) {
	l, err := e.connect(TCP)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer l.Close()

	received := newCounter()
	n := e.p.FairGreedy + 1
	// Server: the first byte of a stream says what it is.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range n {
			s, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				tag := make([]byte, 1)
				if _, err := io.ReadFull(s, tag); err != nil {
					return
				}
				if tag[0] == tagPing {
					echo(s)
					return
				}
				buf := make([]byte, chunk)
				for {
					k, err := s.Read(buf)
					received.add(k)
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	open := func(tag byte) (Stream, error) {
		s, err := l.Open()
		if err != nil {
			return nil, err
		}
		if _, err := s.Write([]byte{tag}); err != nil {
			return nil, err
		}
		return s, nil
	}
	ping, err := open(tagPing)
	if err != nil {
		return nil, err
	}
	wbuf := make([]byte, chunk)
	for range e.p.FairGreedy {
		s, err := open(tagBulk)
		if err != nil {
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if _, err := s.Write(wbuf); err != nil {
					return // the link closed
				}
			}
		}()
	}
	// Warm-up ends once every greedy stream could have moved a few chunks.
	if err := received.waitFor(int64(e.p.FairGreedy)*4*chunk, e.p.Timeout/2); err != nil {
		return nil, err
	}
	m := startMeter()
	b0, t0 := received.load(), time.Now()
	time.Sleep(e.p.FairDur) // the measurement window itself
	aloneMiB, aloneT := float64(received.load()-b0)/mib, time.Since(t0)
	aloneUse := m.stop()

	lat := make([]time.Duration, 0, 1<<16)
	wlat := make([]time.Duration, 0, 1<<16)
	stop := make(chan struct{})
	m = startMeter()
	b0, t0 = received.load(), time.Now()
	time.AfterFunc(e.p.FairDur, func() { close(stop) })
	lat, err = pingLoop(ping, lat, &wlat, stop)
	withMiB, withT := float64(received.load()-b0)/mib, time.Since(t0)
	withUse := m.stop()
	if err != nil {
		return nil, err
	}
	if len(lat) == 0 {
		return nil, errors.New("muxbench: no ping round trip completed")
	}
	sortDurations(lat)
	sortDurations(wlat)
	alone, with := aloneMiB/aloneT.Seconds(), withMiB/withT.Seconds()
	return map[string]float64{
		"pp_p50_us":        percentileUS(lat, 0.50),
		"pp_p99_us":        percentileUS(lat, 0.99),
		"pp_rt_per_s":      float64(len(lat)) / withT.Seconds(),
		"pp_write_p50_us":  percentileUS(wlat, 0.50),
		"pp_write_p99_us":  percentileUS(wlat, 0.99),
		"bulk_mibps":       with,
		"bulk_alone_mibps": alone,
		"bulk_loss_pct":    100 * (1 - with/alone),
		"cpu_cores_alone":  aloneUse.cpu.Seconds() / aloneUse.wall.Seconds(),
		"cpu_cores_with":   withUse.cpu.Seconds() / withUse.wall.Seconds(),
	}, nil
}
