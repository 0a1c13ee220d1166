package main

import (
	"context"
	"flag"
	"fmt"
	"time"
)

const perfDescription = `Measures a Yamux connection like iperf3 measures TCP: throughput per stream and in
aggregate, fairness across streams, connection setup time (TCP, security, muxer),
round-trip time from Yamux pings, bytes verified, and CPU time per MiB.

With no address it starts a server inside the process on 127.0.0.1 and dials it
over TCP + Noise + Yamux (--insecure: raw Yamux over TCP), so both ends are
measured together. With a MULTIADDR it speaks the libp2p perf protocol
(/perf/1.0.0) to any libp2p perf server, for example 'yamux serve' or go-libp2p's.

Each stream is one perf exchange: it uploads, then downloads. --duration splits
the time between the directions run; --bytes moves that many bytes per stream in
each direction instead. While it runs, one progress line per interval (in place
on a terminal); at the end, a summary table.

--json prints one JSON object per line instead: {"type":"interval",...} per
interval and one {"type":"summary",...} at the end. Interval fields: start, end
(seconds since the transfer began), upload_bytes, download_bytes (moved in the
interval), upload_bps, download_bps (bits/s), streams_done, streams, rtt_ms (last
Yamux ping, 0 if none yet). The summary's fields are listed in the README
(section "perf --json").`

const perfExamples = `  yamux perf                              # in process: TCP + Noise + Yamux, 4 streams, 5 s
  yamux perf --insecure --streams 16      # raw Yamux over TCP, 16 streams
  yamux perf --bytes 1GiB --upload        # upload 1 GiB on each stream, no download
  yamux perf --json | jq 'select(.type=="summary").upload.bps'
  yamux perf /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...   # against 'yamux serve' or any libp2p perf server`

// perfOptions is the parsed command line of perf.
type perfOptions struct {
	target   string // multiaddr; empty: in process
	streams  int
	duration time.Duration
	bytes    sizeFlag
	upload   bool // at least one of upload and download is true
	download bool
	insecure bool
	json     bool
	interval time.Duration
	timeout  time.Duration
	keyFile  string
}

// mode names the directions, as the summary and JSON print them.
func (o *perfOptions) mode() string {
	switch {
	case o.upload && o.download:
		return "both"
	case o.upload:
		return "upload"
	default:
		return "download"
	}
}

func parsePerf(e *env, args []string) (*perfOptions, error) {
	o := &perfOptions{}
	fs := newFlagSet(e, "perf", "yamux perf [MULTIADDR] [--streams N] [--duration D | --bytes SIZE] [--upload | --download] [--insecure] [--json]",
		perfDescription, perfExamples)
	fs.IntVar(&o.streams, "streams", 4, "run `N` concurrent streams")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "run for `D`, shared between the directions")
	fs.Var(&o.bytes, "bytes", "move `SIZE` per stream and direction instead of running for a time (e.g. 64MiB, 1GiB)")
	fs.BoolVar(&o.upload, "upload", false, "upload only")
	fs.BoolVar(&o.download, "download", false, "download only")
	fs.BoolVar(&o.insecure, "insecure", false, "raw Yamux over TCP, no Noise")
	fs.BoolVar(&o.json, "json", false, "print JSON objects, one per line, instead of text")
	fs.DurationVar(&o.interval, "interval", time.Second, "report progress every `D`")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "give up connection setup after `D`")
	fs.StringVar(&o.keyFile, "key", "", "use the identity key in `FILE` (default: a fresh key for this run)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return nil, err
	}
	durationSet := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "duration" {
			durationSet = true
		}
	})
	switch {
	case len(pos) > 1:
		return nil, usageErrorf("want at most one MULTIADDR, got %d arguments", len(pos))
	case o.streams < 1 || o.streams > 1024:
		return nil, usageErrorf("--streams %d: want 1 to 1024", o.streams)
	case durationSet && o.bytes.set:
		return nil, usageErrorf("--duration and --bytes exclude each other")
	case !o.bytes.set && o.duration <= 0:
		return nil, usageErrorf("--duration %v: want a positive duration", o.duration)
	case o.bytes.set && o.bytes.n == 0:
		return nil, usageErrorf("--bytes 0: want at least one byte")
	case o.interval < 10*time.Millisecond:
		return nil, usageErrorf("--interval %v: want at least 10ms", o.interval)
	case o.timeout <= 0:
		return nil, usageErrorf("--timeout %v: want a positive duration", o.timeout)
	}
	if len(pos) == 1 {
		if _, err := parseTarget(pos[0]); err != nil {
			return nil, &usageError{err.Error()}
		}
		o.target = pos[0]
	}
	if !o.upload && !o.download {
		o.upload, o.download = true, true
	}
	return o, nil
}

func runPerf(ctx context.Context, e *env, args []string) error {
	o, err := parsePerf(e, args)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		// The first signal stops the transfer; what has been measured is
		// still reported.
		select {
		case <-e.signals:
			cancel()
		case <-ctx.Done():
		}
	}()

	var target *perfTarget
	if o.target == "" {
		target, err = startInProcess(ctx, o)
	} else {
		target, err = dialPerfTarget(ctx, o)
	}
	if err != nil {
		return err
	}
	defer target.close()

	rep := newReporter(e, o)
	rep.header(target)
	sum, runErr := runTransfer(ctx, o, target, rep)
	rep.finish(sum)
	if runErr != nil {
		return runErr
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted after %.1f s", sum.Elapsed.Seconds())
	}
	return nil
}
