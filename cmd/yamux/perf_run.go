package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/host"
	"github.com/yamuxgo/yamux/perf"
)

// perfTarget is an established connection to a perf server, in this
// process or remote.
type perfTarget struct {
	// addr is what was dialed, as the user reads it (a multiaddr).
	addr string
	// stack names the layers, e.g. "TCP + Noise + Yamux".
	stack string
	// inProcess is true when the server runs in this process.
	inProcess bool
	// security is "noise" or "none".
	security string
	// remotePeer is the authenticated peer ID, empty without security.
	remotePeer string
	session    *yamux.Session
	// open opens a stream that has negotiated perf.ProtocolID.
	open func(ctx context.Context) (perf.Stream, error)
	// setup is how long each layer of the connection setup took.
	setup host.Timings
	// verifyContent is true when the server is known to send this
	// package's pattern, so every downloaded byte can be checked.
	verifyContent bool
	// server is the in-process server, whose counts join the summary; nil
	// for a remote one.
	server *perfServer
	// closeFn ends the connection and, in process, the server.
	closeFn func() error
}

func (t *perfTarget) close() error { return t.closeFn() }

// streamRun is one stream's exchange as it happens and ends.
type streamRun struct {
	id       int
	streamID uint32
	counters perf.Counters
	done     atomic.Bool
	res      perf.Result
	err      error
}

// request is what each stream asks for under the options.
func (o *perfOptions) request() perf.Request {
	var r perf.Request
	if o.bytes.set {
		if o.upload {
			r.Upload = o.bytes.n
		}
		if o.download {
			r.Download = o.bytes.n
		}
		return r
	}
	d := o.duration
	if o.upload && o.download {
		d /= 2
	}
	if o.upload {
		r.UploadFor = d
	}
	if o.download {
		r.DownloadFor = d
	}
	return r
}

// pingInterval spaces the RTT samples taken under load.
const pingInterval = 100 * time.Millisecond

// runTransfer runs the streams against t and gathers the summary. A failed
// stream fails the run, but the others finish and are reported.
func runTransfer(ctx context.Context, o *perfOptions, t *perfTarget, rep *reporter) (*perfSummary, error) {
	sum := newSummary(o, t)
	for range 3 {
		rtt, err := pingOnce(ctx, t.session)
		if err != nil {
			return sum, fmt.Errorf("yamux ping before the transfer: %w", err)
		}
		sum.RTT.idle = append(sum.RTT.idle, rtt)
	}

	runs := make([]*streamRun, o.streams)
	for i := range runs {
		runs[i] = &streamRun{id: i + 1}
	}
	req := o.request()
	req.Verify = t.verifyContent

	user0, sys0, cpuOK := cpuTime()
	start := time.Now()
	pingCtx, stopPings := context.WithCancel(ctx)
	var lastRTT atomic.Int64
	pingsDone := make(chan []time.Duration, 1)
	go func() { pingsDone <- pingUnderLoad(pingCtx, t.session, &lastRTT) }()
	rep.begin(start, runs, &lastRTT)

	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Go(func() {
			defer r.done.Store(true)
			st, err := t.open(ctx)
			if err != nil {
				r.err = fmt.Errorf("stream %d: %w", r.id, err)
				return
			}
			if ys, ok := st.(interface{ StreamID() uint32 }); ok {
				r.streamID = ys.StreamID()
			}
			q := req
			q.Counters = &r.counters
			r.res, r.err = perf.Run(ctx, st, q)
			if c, ok := st.(interface{ Close() error }); ok {
				c.Close()
			}
			if r.err != nil {
				r.err = fmt.Errorf("stream %d: %w", r.id, r.err)
			}
		})
	}
	wg.Wait()
	end := time.Now()
	stopPings()
	sum.RTT.load = <-pingsDone
	rep.end(end)
	user1, sys1, _ := cpuTime()
	if t.server != nil {
		// Let the in-process server finish its side of every exchange, so
		// its counts are final.
		t.server.wait(ctx)
	}
	sum.fill(runs, start, end)
	if t.server != nil {
		sum.addServerCounts(t.server)
	}
	if cpuOK {
		sum.setCPU(user1-user0, sys1-sys0)
	}

	var errs []error
	for _, r := range runs {
		if r.err != nil && ctx.Err() == nil {
			errs = append(errs, r.err)
		}
	}
	if t.server != nil && ctx.Err() == nil {
		errs = append(errs, t.server.errors()...)
	}
	return sum, firstOf(errs)
}

// pingOnce is one Yamux ping under a bound of its own.
func pingOnce(ctx context.Context, s *yamux.Session) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return s.PingContext(ctx)
}

// pingUnderLoad samples the RTT every pingInterval until ctx ends.
func pingUnderLoad(ctx context.Context, s *yamux.Session, last *atomic.Int64) []time.Duration {
	var rtts []time.Duration
	t := time.NewTicker(pingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return rtts
		case <-t.C:
		}
		rtt, err := s.PingContext(ctx)
		if err != nil {
			return rtts
		}
		rtts = append(rtts, rtt)
		last.Store(int64(rtt))
	}
}

// firstOf keeps the error line short when many streams fail alike: the
// first error, and how many others there were (the summary lists each).
func firstOf(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	default:
		return fmt.Errorf("%w (and %d more failures)", errs[0], len(errs)-1)
	}
}
