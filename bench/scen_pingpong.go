package main

import (
	"io"
	"sync"
	"time"
)

// One stream, 1-byte request and 1-byte response, strictly alternating.
func pingpongScenario() Scenario {
	return Scenario{
		Name: "pingpong-tcp",
		Desc: "one stream over loopback TCP, 1-byte request, 1-byte response",
		Metrics: []Metric{
			{Key: "rt_per_s", Label: "RT/s", Higher: true, Headline: true},
			{Key: "p50_us", Label: "p50 µs", Headline: true},
			{Key: "p99_us", Label: "p99 µs", Headline: true},
			{Key: "cpu_us_per_rt", Label: "CPU µs/RT", Headline: true},
			{Key: "syscalls_per_rt", Label: "read+write syscalls/RT"},
		},
		Run: runPingPong,
	}
}

// echo answers every byte with one byte until the stream fails.
func echo(s Stream) {
	b := make([]byte, 1)
	for {
		if _, err := io.ReadFull(s, b); err != nil {
			return
		}
		if _, err := s.Write(b); err != nil {
			return
		}
	}
}

// pingLoop runs round trips on s until stop is closed, appending each
// round trip's time to lat and, if wlat is not nil, the time spent inside
// Write to *wlat: a multiplexer that makes a small write wait for room
// behind other streams shows it there rather than on the wire.
func pingLoop(s Stream, lat []time.Duration, wlat *[]time.Duration, stop <-chan struct{}) ([]time.Duration, error) {
	b := []byte{1}
	for {
		select {
		case <-stop:
			return lat, nil
		default:
		}
		t0 := time.Now()
		if _, err := s.Write(b); err != nil {
			return lat, err
		}
		if wlat != nil {
			*wlat = append(*wlat, time.Since(t0))
		}
		if _, err := io.ReadFull(s, b); err != nil {
			return lat, err
		}
		lat = append(lat, time.Since(t0))
	}
}

func runPingPong(e *env) (map[string]float64, error) {
	l, err := e.connect(TCP)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	cs, ss, err := openPair(l)
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); echo(ss) }()
	defer wg.Wait()
	defer l.Close()

	warm := make(chan struct{})
	time.AfterFunc(e.p.PingDur/10, func() { close(warm) })
	if _, err := pingLoop(cs, make([]time.Duration, 0, 1<<16), nil, warm); err != nil {
		return nil, err
	}
	lat := make([]time.Duration, 0, int(e.p.PingDur.Seconds()*200_000)+1024)
	stop := make(chan struct{})
	m := startMeter()
	time.AfterFunc(e.p.PingDur, func() { close(stop) })
	lat, err = pingLoop(cs, lat, nil, stop)
	r := m.stop()
	if err != nil {
		return nil, err
	}
	sortDurations(lat)
	n := float64(len(lat))
	out := map[string]float64{
		"rt_per_s":      n / r.wall.Seconds(),
		"p50_us":        percentileUS(lat, 0.50),
		"p99_us":        percentileUS(lat, 0.99),
		"cpu_us_per_rt": us(r.cpu) / n,
	}
	if r.writes >= 0 && r.reads >= 0 {
		out["syscalls_per_rt"] = float64(r.writes+r.reads) / n
	}
	return out, nil
}
