package main

import (
	"fmt"
	"io"
	"runtime"
)

// Many open streams, each with one byte delivered, doing nothing.
func idleScenario() Scenario {
	return Scenario{
		Name: "idle-tcp",
		Desc: "N open streams, each with one 1-byte write delivered; Go heap after GC per stream, both ends",
		Metrics: []Metric{
			{Key: "heap_b_per_stream", Label: "heap B/stream", Headline: true},
			{Key: "stack_b_per_stream", Label: "stack B/stream"},
			{Key: "goroutines_per_1k", Label: "goroutines/1k streams", NoRatio: true},
			// raw needs two descriptors per stream, so the descriptor limit
			// may cap it below the others.
			{Key: "streams", Label: "streams measured", Higher: true, NoRatio: true},
		},
		Run: runIdle,
	}
}

// openIdle opens n streams and delivers one byte on each; it returns both
// ends so the caller keeps them alive.
func openIdle(l Link, n int) (clients, servers []Stream, err error) {
	clients = make([]Stream, 0, n)
	servers = make([]Stream, 0, n)
	acc := make(chan error, 1)
	go func() {
		b := make([]byte, 1)
		for range n {
			s, err := l.Accept()
			if err != nil {
				acc <- err
				return
			}
			if _, err := io.ReadFull(s, b); err != nil {
				acc <- err
				return
			}
			servers = append(servers, s)
		}
		acc <- nil
	}()
	b := []byte{1}
	for i := range n {
		c, err := l.Open()
		if err == nil {
			_, err = c.Write(b)
		}
		if err != nil {
			l.Close()
			<-acc
			return nil, nil, fmt.Errorf("idle stream %d: %w", i, err)
		}
		clients = append(clients, c)
	}
	if err := <-acc; err != nil {
		return nil, nil, err
	}
	return clients, servers, nil
}

func runIdle(e *env) (map[string]float64, error) {
	n := e.rawCap(e.p.IdleStreams)
	g0 := runtime.NumGoroutine()
	heap0, stack0 := heapAfterGC()
	l, err := e.connect(TCP)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	clients, servers, err := openIdle(l, n)
	if err != nil {
		return nil, err
	}
	heap1, stack1 := heapAfterGC()
	g1 := runtime.NumGoroutine()
	e.heapSnapshot("open")
	runtime.KeepAlive(clients)
	runtime.KeepAlive(servers)
	per := func(a, b uint64) float64 {
		if b < a {
			return 0
		}
		return float64(b-a) / float64(n)
	}
	return map[string]float64{
		"heap_b_per_stream":  per(heap0, heap1),
		"stack_b_per_stream": per(stack0, stack1),
		"goroutines_per_1k":  float64(g1-g0) * 1000 / float64(n),
		"streams":            float64(n),
	}, nil
}
