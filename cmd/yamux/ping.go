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
	var rtts []time.Duration
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
			rtts = append(rtts, rtt)
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
	if len(rtts) == 0 {
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

// printPingStats is ping(8)'s closing block.
func printPingStats(e *env, who string, sent int, rtts []time.Duration, elapsed time.Duration) {
	loss := 0.0
	if sent > 0 {
		loss = 100 * float64(sent-len(rtts)) / float64(sent)
	}
	fmt.Fprintf(e.stdout, "\n--- %s ping statistics ---\n", who)
	fmt.Fprintf(e.stdout, "%d pings transmitted, %d received, %.0f%% loss, time %dms\n", sent, len(rtts), loss, elapsed.Milliseconds())
	if len(rtts) == 0 {
		return
	}
	lo, hi := minMax(rtts)
	avg := mean(rtts)
	var sq float64
	for _, r := range rtts {
		d := millis(r) - millis(avg)
		sq += d * d
	}
	sd := math.Sqrt(sq / float64(len(rtts)))
	fmt.Fprintf(e.stdout, "rtt min/avg/max/stddev = %.3f/%.3f/%.3f/%.3f ms\n", millis(lo), millis(avg), millis(hi), sd)
}
