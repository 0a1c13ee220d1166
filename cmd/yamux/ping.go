package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/host"
	"github.com/yamuxgo/yamux/ping"
)

func runPing(ctx context.Context, e *env, args []string) error {
	o, err := parsePing(e, args)
	if err != nil {
		return err
	}
	tg, err := parseTarget(o.target)
	if err != nil {
		return &usageError{err.Error()}
	}
	key, err := loadKey(o.keyFile)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-e.signals: // like ping(8): stop and print the statistics
			cancel()
		case <-ctx.Done():
		}
	}()
	c, err := dialClient(ctx, key, o.target, o.insecure, o.timeout)
	if err != nil {
		return err
	}
	defer c.close()

	who := o.target
	fmt.Fprintf(e.stdout, "PING %s: %d data bytes (%s)\n", who, ping.Size, ping.ID)
	start := time.Now()
	var rtts rttStats
	sent := 0
	var st *host.Stream
	for seq := 1; o.count == 0 || seq <= o.count; seq++ {
		if seq > 1 {
			t := time.NewTimer(o.interval)
			select {
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
		}
		if ctx.Err() != nil {
			break
		}
		if st == nil {
			if st, err = c.openProtocol(ctx, ping.ID); err != nil {
				if ctx.Err() != nil {
					break
				}
				return err
			}
		}
		sent++
		rtt, err := pingWithin(ctx, st, o.wait)
		switch {
		case err == nil:
			rtts.add(rtt)
			fmt.Fprintf(e.stdout, "%d bytes from %s: ping_seq=%d time=%s\n", ping.Size, tg.hostport, seq, formatMillis(rtt))
			continue
		case ctx.Err() != nil:
			sent--
		case errors.Is(err, errPingTimeout):
			fmt.Fprintf(e.stdout, "no reply for ping_seq=%d within %v\n", seq, o.wait)
		default:
			fmt.Fprintf(e.stdout, "ping_seq=%d failed: %s\n", seq, oneLine(err))
		}
		// The stream is out of step after a failure: the next ping gets a
		// new one.
		st.Reset()
		st = nil
		if c.conn.Session().IsClosed() {
			break
		}
	}
	if st != nil {
		st.CloseWrite()
		st.Close()
	}
	printPingStats(e, who, sent, rtts, time.Since(start))
	if rtts.n == 0 {
		return fmt.Errorf("no reply from %s", who)
	}
	return nil
}

var errPingTimeout = errors.New("ping timed out")

// pingWithin is one ping on st, bounded by wait and ctx.
func pingWithin(ctx context.Context, st *host.Stream, wait time.Duration) (time.Duration, error) {
	st.SetDeadline(time.Now().Add(wait))
	defer st.SetDeadline(time.Time{})
	stop := context.AfterFunc(ctx, func() { st.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	rtt, err := ping.Ping(st)
	if errors.Is(err, yamux.ErrTimeout) && ctx.Err() == nil {
		return 0, errPingTimeout
	}
	return rtt, err
}

// rttStats summarises the round trips as they come (Welford's running
// mean and variance): ping without -c runs for as long as the user wants,
// and keeping every sample grew by one per reply.
type rttStats struct {
	n      int
	lo, hi time.Duration
	meanMs float64
	m2     float64 // sum of squared differences from the mean, in ms²
}

func (r *rttStats) add(rtt time.Duration) {
	r.n++
	if r.n == 1 || rtt < r.lo {
		r.lo = rtt
	}
	if rtt > r.hi {
		r.hi = rtt
	}
	x := millis(rtt)
	d := x - r.meanMs
	r.meanMs += d / float64(r.n)
	r.m2 += d * (x - r.meanMs)
}

// printPingStats is ping(8)'s closing block.
func printPingStats(e *env, who string, sent int, rtts rttStats, elapsed time.Duration) {
	loss := 0.0
	if sent > 0 {
		loss = 100 * float64(sent-rtts.n) / float64(sent)
	}
	fmt.Fprintf(e.stdout, "\n--- %s ping statistics ---\n", who)
	fmt.Fprintf(e.stdout, "%d pings transmitted, %d received, %.0f%% loss, time %dms\n", sent, rtts.n, loss, elapsed.Milliseconds())
	if rtts.n == 0 {
		return
	}
	sd := math.Sqrt(rtts.m2 / float64(rtts.n))
	fmt.Fprintf(e.stdout, "rtt min/avg/max/stddev = %.3f/%.3f/%.3f/%.3f ms\n", millis(rtts.lo), rtts.meanMs, millis(rtts.hi), sd)
}
