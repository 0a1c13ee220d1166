package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Metric is one figure a scenario reports.
type Metric struct {
	Key    string // JSON key
	Label  string // table label, with unit
	Higher bool   // higher is better
	// Headline metrics go into the plot.
	Headline bool
	// NoRatio: a count that describes the run (e.g. how many streams fit)
	// rather than a figure of merit; no ratios are taken.
	NoRatio bool `json:",omitempty"`
	// NoRawRatio: raw's value is (close to) zero, e.g. allocations, so
	// only ratios between multiplexers are taken.
	NoRawRatio bool `json:",omitempty"`
}

// Scenario is one workload, run once per contender per round.
type Scenario struct {
	Name    string
	Desc    string
	Metrics []Metric
	Run     func(e *env) (map[string]float64, error)
}

// Params sizes the scenarios; quick, full and smoke modes differ only here.
type Params struct {
	BulkBytes      int64
	BulkWarm       int64
	PingDur        time.Duration
	MultiStreams   int
	MultiBytes     int64
	IdleStreams    int
	ChurnDur       time.Duration
	ChurnPar       int
	FairGreedy     int
	FairDur        time.Duration
	ScaleStreams   int
	ScaleBytes     int64
	OpenLevels     []int
	OpenDur        time.Duration
	Timeout        time.Duration // per scenario run; the links are closed when it passes
	RawStreamLimit int           // raw connections are capped by the descriptor limit

	heapProfile string // set for a run being heap-profiled: the file prefix
}

// heapSnapshot writes a heap profile at a named point of a profiled run,
// e.g. while 10,000 idle streams are open.
func (e *env) heapSnapshot(point string) {
	if e.p.heapProfile != "" {
		_ = writeHeapProfile(e.p.heapProfile + "-" + point + ".pprof")
	}
}

const (
	chunk      = 64 << 10 // bulk write size, as in the measurements
	readChunk  = 32 << 10 // reader buffer in the many-stream scenarios
	churnBytes = 1 << 10
	msgBytes   = 128
	mib        = 1 << 20
)

// env is one scenario run: the contender, the sizes and the links made,
// which a watchdog closes if the run takes longer than Params.Timeout.
type env struct {
	p *Params
	c Contender

	mu       sync.Mutex
	links    []Link
	timedOut bool
}

var errTimeout = errors.New("muxbench: scenario timed out")

func (e *env) connect(tr Transport) (Link, error) {
	l, err := e.c.Connect(tr)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.timedOut {
		l.Close()
		return nil, errTimeout
	}
	e.links = append(e.links, l)
	return l, nil
}

// rawCap bounds the number of streams for raw, which needs two descriptors
// per stream.
func (e *env) rawCap(n int) int {
	if e.c.IsRaw() && n > e.p.RawStreamLimit {
		return e.p.RawStreamLimit
	}
	return n
}

// runScenario runs one scenario for one contender under the watchdog.
func runScenario(s Scenario, c Contender, p *Params) (map[string]float64, error) {
	e := &env{p: p, c: c}
	t := time.AfterFunc(p.Timeout, func() {
		e.mu.Lock()
		e.timedOut = true
		links := e.links
		e.mu.Unlock()
		for _, l := range links {
			l.Close()
		}
	})
	vals, err := s.Run(e)
	t.Stop()
	e.mu.Lock()
	links, timedOut := e.links, e.timedOut
	e.mu.Unlock()
	for _, l := range links {
		l.Close()
	}
	if timedOut {
		return nil, fmt.Errorf("%w after %v (%v)", errTimeout, p.Timeout, err)
	}
	return vals, err
}

// writeN writes n bytes in chunk-sized writes.
func writeN(w io.Writer, n int64, buf []byte) error {
	for n > 0 {
		b := buf
		if int64(len(b)) > n {
			b = b[:n]
		}
		k, err := w.Write(b)
		n -= int64(k)
		if err != nil {
			return err
		}
	}
	return nil
}

// readN reads exactly n bytes.
func readN(r io.Reader, n int64, buf []byte) error {
	for n > 0 {
		b := buf
		if int64(len(b)) > n {
			b = b[:n]
		}
		k, err := r.Read(b)
		n -= int64(k)
		if err != nil && n > 0 {
			return err
		}
	}
	return nil
}

// openPair opens a stream and accepts its server end.
func openPair(l Link) (Stream, Stream, error) {
	c, err := l.Open()
	if err != nil {
		return nil, nil, err
	}
	s, err := l.Accept()
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, s, nil
}

// percentile of sorted durations, in microseconds.
func percentileUS(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)-1))
	return float64(sorted[i]) / float64(time.Microsecond)
}

func sortDurations(d []time.Duration) {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
}

// perMiB divides by the MiB moved.
func perMiB(v float64, bytes int64) float64 { return v / (float64(bytes) / mib) }

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// counter counts bytes received and wakes a waiter once a threshold is
// crossed, so warm-ups and windows wait on the flow itself rather than on
// a guessed sleep. The hot path (add) is one atomic add and one atomic
// load unless a waiter's threshold was just crossed.
type counter struct {
	n    atomic.Int64
	want atomic.Int64 // threshold of the armed waiter; MaxInt64 when none

	mu sync.Mutex
	ch chan struct{}
}

func newCounter() *counter {
	c := &counter{}
	c.want.Store(math.MaxInt64)
	return c
}

func (c *counter) add(k int) {
	if v := c.n.Add(int64(k)); v >= c.want.Load() {
		c.mu.Lock()
		if c.ch != nil && v >= c.want.Load() {
			close(c.ch)
			c.ch = nil
			c.want.Store(math.MaxInt64)
		}
		c.mu.Unlock()
	}
}

func (c *counter) load() int64 { return c.n.Load() }

// waitFor waits until at least target bytes have been counted, or returns
// an error once timeout passes (the contender moved nothing more).
func (c *counter) waitFor(target int64, timeout time.Duration) error {
	c.mu.Lock()
	if c.n.Load() >= target {
		c.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	c.ch = ch
	c.want.Store(target)
	c.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-t.C:
		return fmt.Errorf("muxbench: %d of %d bytes moved in %v", c.load(), target, timeout)
	}
}
