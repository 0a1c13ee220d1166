package main

import "fmt"

// One stream, 64 KiB writes, one direction.
func bulkScenario(tr Transport) Scenario {
	return Scenario{
		Name: "bulk-" + string(tr),
		Desc: fmt.Sprintf("one stream, 64 KiB writes, one way, over %s", trDesc(tr)),
		Metrics: []Metric{
			{Key: "mibps", Label: "MiB/s", Higher: true, Headline: true},
			{Key: "cpu_us_per_mib", Label: "CPU µs/MiB", Headline: true},
			{Key: "allocs_per_mib", Label: "allocs/MiB", NoRawRatio: true},
			{Key: "writes_per_mib", Label: "write syscalls/MiB", Headline: true},
			{Key: "reads_per_mib", Label: "read syscalls/MiB"},
		},
		Run: func(e *env) (map[string]float64, error) { return runBulk(e, tr) },
	}
}

func trDesc(tr Transport) string {
	if tr == Unix {
		return "an AF_UNIX socketpair"
	}
	return "loopback TCP"
}

func runBulk(e *env, tr Transport) (map[string]float64, error) {
	l, err := e.connect(tr)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	cs, ss, err := openPair(l)
	if err != nil {
		return nil, err
	}
	wbuf, rbuf := make([]byte, chunk), make([]byte, chunk)
	// The writer goroutine exists before the meter starts, so the measured
	// section allocates nothing of the harness's own.
	jobs := make(chan int64)
	errs := make(chan error, 1)
	go func() {
		for n := range jobs {
			errs <- writeN(cs, n, wbuf)
		}
	}()
	defer close(jobs)
	transfer := func(n int64) error {
		jobs <- n
		rerr := readN(ss, n, rbuf)
		if rerr != nil {
			l.Close() // unblock the writer
		}
		werr := <-errs
		if rerr != nil {
			return rerr
		}
		return werr
	}
	if err := transfer(e.p.BulkWarm); err != nil {
		return nil, err
	}
	m := startMeter()
	if err := transfer(e.p.BulkBytes); err != nil {
		return nil, err
	}
	r := m.stop()
	n := e.p.BulkBytes
	out := map[string]float64{
		"mibps":          float64(n) / mib / r.wall.Seconds(),
		"cpu_us_per_mib": perMiB(us(r.cpu), n),
		"allocs_per_mib": perMiB(float64(r.allocs), n),
	}
	if r.writes >= 0 {
		out["writes_per_mib"] = perMiB(float64(r.writes), n)
	}
	if r.reads >= 0 {
		out["reads_per_mib"] = perMiB(float64(r.reads), n)
	}
	return out, nil
}
