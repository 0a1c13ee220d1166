package main

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Stream churn: open, write 1 KiB, read its echo, close; raw opens a TCP
// connection each time.
func churnScenario(workers int) Scenario {
	name := "churn-seq-tcp"
	desc := "open a stream, write 1 KiB, read the 1 KiB echo, close; one worker"
	if workers > 1 {
		name = fmt.Sprintf("churn-par%d-tcp", workers)
		desc = fmt.Sprintf("the same with %d workers at once", workers)
	}
	return Scenario{
		Name: name,
		Desc: desc,
		Metrics: []Metric{
			{Key: "streams_per_s", Label: "streams/s", Higher: true, Headline: true},
			{Key: "cpu_us_per_stream", Label: "CPU µs/stream"},
			{Key: "allocs_per_stream", Label: "allocs/stream"},
		},
		Run: func(e *env) (map[string]float64, error) { return runChurn(e, workers) },
	}
}

func runChurn(e *env, workers int) (map[string]float64, error) {
	l, err := e.connect(TCP)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	var srv sync.WaitGroup
	defer srv.Wait()
	defer l.Close()
	srv.Add(1)
	go func() {
		defer srv.Done()
		for {
			s, err := l.Accept()
			if err != nil {
				return
			}
			srv.Add(1)
			go func() {
				defer srv.Done()
				defer l.CloseStream(s)
				b := make([]byte, churnBytes)
				if _, err := io.ReadFull(s, b); err != nil {
					return
				}
				s.Write(b)
			}()
		}
	}()

	one := func(b []byte) error {
		s, err := l.Open()
		if err != nil {
			return err
		}
		if _, err := s.Write(b); err != nil {
			l.CloseStream(s)
			return err
		}
		if _, err := io.ReadFull(s, b); err != nil {
			l.CloseStream(s)
			return err
		}
		return l.CloseStream(s)
	}
	run := func(d time.Duration) (int64, error) {
		var count atomic.Int64
		var stop atomic.Bool
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b := make([]byte, churnBytes)
				for !stop.Load() {
					if err := one(b); err != nil {
						errs[w] = err
						return
					}
					count.Add(1)
				}
			}()
		}
		time.Sleep(d) // the measurement window itself, not a synchronisation
		stop.Store(true)
		wg.Wait()
		return count.Load(), errors.Join(errs...)
	}
	if _, err := run(e.p.ChurnDur / 10); err != nil {
		return nil, err
	}
	m := startMeter()
	n, err := run(e.p.ChurnDur)
	r := m.stop()
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errors.New("muxbench: no stream completed")
	}
	return map[string]float64{
		"streams_per_s":     float64(n) / r.wall.Seconds(),
		"cpu_us_per_stream": us(r.cpu) / float64(n),
		"allocs_per_stream": float64(r.allocs) / float64(n),
	}, nil
}
