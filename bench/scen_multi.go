package main

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Many streams, each carrying the same number of bytes at once, over one
// connection (raw: one connection each).
func multiScenario() Scenario {
	return Scenario{
		Name: "multi-tcp",
		Desc: "N streams × M bytes at once over one loopback TCP connection (raw: N connections)",
		Metrics: []Metric{
			{Key: "mibps", Label: "MiB/s", Higher: true, Headline: true},
			{Key: "slowest_vs_mean", Label: "slowest/mean stream", Higher: true, Headline: true},
			{Key: "cpu_us_per_mib", Label: "CPU µs/MiB"},
		},
		Run: func(e *env) (map[string]float64, error) {
			r, err := runConcurrent(e, e.p.MultiStreams, e.p.MultiBytes, false)
			if err != nil {
				return nil, err
			}
			return map[string]float64{"mibps": r.mibps, "slowest_vs_mean": r.slowestVsMean, "cpu_us_per_mib": r.cpuPerMiB}, nil
		},
	}
}

// 1,000 streams × 1 MiB: throughput and the heap it takes.
func scaleScenario() Scenario {
	return Scenario{
		Name: "scale-tcp",
		Desc: "1,000 streams × 1 MiB at once over one loopback TCP connection (raw: 1,000 connections)",
		Metrics: []Metric{
			{Key: "mibps", Label: "MiB/s", Higher: true, Headline: true},
			{Key: "peak_heap_mib", Label: "peak heap MiB", Headline: true},
			{Key: "slowest_vs_mean", Label: "slowest/mean stream", Higher: true},
			{Key: "cpu_us_per_mib", Label: "CPU µs/MiB"},
		},
		Run: func(e *env) (map[string]float64, error) {
			r, err := runConcurrent(e, e.p.ScaleStreams, e.p.ScaleBytes, true)
			if err != nil {
				return nil, err
			}
			return map[string]float64{"mibps": r.mibps, "slowest_vs_mean": r.slowestVsMean,
				"cpu_us_per_mib": r.cpuPerMiB, "peak_heap_mib": r.peakHeapMiB}, nil
		},
	}
}

type concurrentResult struct {
	mibps, slowestVsMean, cpuPerMiB, peakHeapMiB float64
}

// runConcurrent opens n streams, then moves size bytes on each at once.
// A stream's rate is size over the time from the common start to its last
// byte read.
func runConcurrent(e *env, n int, size int64, trackHeap bool) (concurrentResult, error) {
	var res concurrentResult
	wbuf := make([]byte, chunk)
	rbufs := make([][]byte, n)
	for i := range rbufs {
		rbufs[i] = make([]byte, readChunk)
	}
	var base uint64
	if trackHeap {
		base, _ = heapAfterGC() // the harness's own buffers are in the baseline
	}
	l, err := e.connect(TCP)
	if err != nil {
		return res, err
	}
	defer l.Close()
	clients := make([]Stream, n)
	servers := make([]Stream, 0, n)
	acc := make(chan error, 1)
	go func() {
		for range n {
			s, err := l.Accept()
			if err != nil {
				acc <- err
				return
			}
			servers = append(servers, s)
		}
		acc <- nil
	}()
	for i := range clients {
		if clients[i], err = l.Open(); err != nil {
			l.Close()
			<-acc
			return res, fmt.Errorf("open %d: %w", i, err)
		}
	}
	if err := <-acc; err != nil {
		return res, err
	}

	var peak *heapPeak
	if trackHeap {
		peak = startHeapPeak()
	}
	start := make(chan struct{})
	finish := make([]time.Duration, n)
	errs := make([]error, 2*n)
	var wg sync.WaitGroup
	var t0 time.Time
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			if errs[i] = writeN(clients[i], size, wbuf); errs[i] != nil {
				l.Close()
			}
		}()
		go func() {
			defer wg.Done()
			<-start
			if errs[n+i] = readN(servers[i], size, rbufs[i]); errs[n+i] != nil {
				l.Close()
			}
			finish[i] = time.Since(t0)
		}()
	}
	m := startMeter()
	t0 = m.wall
	close(start)
	wg.Wait()
	r := m.stop()
	if peak != nil {
		p := peak.stop()
		if p > base {
			res.peakHeapMiB = float64(p-base) / mib
		}
	}
	if err := errors.Join(errs...); err != nil {
		return res, err
	}
	total := int64(n) * size
	res.mibps = float64(total) / mib / r.wall.Seconds()
	res.cpuPerMiB = perMiB(us(r.cpu), total)
	var sum, slowest float64
	for i, f := range finish {
		rate := float64(size) / f.Seconds()
		sum += rate
		if i == 0 || rate < slowest {
			slowest = rate
		}
	}
	res.slowestVsMean = slowest / (sum / float64(n))
	return res, nil
}
