package main

import (
	"log/slog"
	"strings"
	"time"
)

const serveDescription = `Listens for libp2p connections (TCP + Noise + Yamux; --insecure: raw Yamux
over TCP) and serves identify (/ipfs/id/1.0.0), ping (/ipfs/ping/1.0.0), echo
(/echo/1.0.0) and perf (/perf/1.0.0). Once listening it prints its full address,
with /p2p/<peer ID>, as one line on stdout; dial that with 'yamux perf',
'yamux ping' or any libp2p node.

Logs go to stderr (log/slog). --metrics serves Prometheus metrics at
http://ADDR/metrics: connections, streams, bytes and frames, RTT, GO_AWAYs and
protocol errors.

SIGINT or SIGTERM shuts down gracefully: GO_AWAY to every peer, up to --drain
for streams in flight to finish, then exit 0. A second signal exits at once.`

const serveExamples = `  yamux serve
  yamux serve --listen /ip4/127.0.0.1/tcp/4001 --key node.key
  yamux serve --metrics 127.0.0.1:9090 --log-level debug --log-format json
  yamux serve --insecure      # raw Yamux over TCP, for 'yamux perf --insecure ADDR'`

// serveOptions is the parsed command line of serve.
type serveOptions struct {
	listen    string
	keyFile   string
	insecure  bool
	metrics   string
	logLevel  slog.Level
	logFormat string
	drain     time.Duration
}

func parseServe(e *env, args []string) (*serveOptions, error) {
	o := &serveOptions{}
	fs := newFlagSet(e, "serve", "yamux serve [--listen MULTIADDR] [--key FILE] [--insecure] [--metrics ADDR]",
		serveDescription, serveExamples)
	fs.StringVar(&o.listen, "listen", "/ip4/127.0.0.1/tcp/0", "listen on `MULTIADDR`")
	fs.StringVar(&o.keyFile, "key", "", "use the identity key in `FILE` (default: a fresh key for this run)")
	fs.BoolVar(&o.insecure, "insecure", false, "raw Yamux over TCP, no Noise")
	fs.StringVar(&o.metrics, "metrics", "", "serve Prometheus metrics at http://`ADDR`/metrics (e.g. 127.0.0.1:9090)")
	level := fs.String("log-level", "info", "log `LEVEL`: debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "text", "log `FORMAT`: text or json")
	fs.DurationVar(&o.drain, "drain", 5*time.Second, "on shutdown, wait up to `D` for streams in flight")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, usageErrorf("takes no arguments (the address is given with --listen)")
	}
	if t, err := parseTarget(o.listen); err != nil {
		return nil, &usageError{"--listen: " + err.Error()}
	} else if !t.id.IsZero() {
		return nil, usageErrorf("--listen %s: the /p2p/ part comes from the key, not the address", o.listen)
	}
	if err := o.logLevel.UnmarshalText([]byte(*level)); err != nil {
		return nil, usageErrorf("--log-level %q: want debug, info, warn or error", *level)
	}
	switch o.logFormat {
	case "text", "json":
	default:
		return nil, usageErrorf("--log-format %q: want text or json", o.logFormat)
	}
	if o.drain < 0 {
		return nil, usageErrorf("--drain %v: want zero or more", o.drain)
	}
	if o.metrics != "" && !strings.Contains(o.metrics, ":") {
		return nil, usageErrorf("--metrics %q: want HOST:PORT, e.g. 127.0.0.1:9090", o.metrics)
	}
	return o, nil
}

// newLogger is the serve log on stderr in the chosen format.
func (o *serveOptions) newLogger(e *env) *slog.Logger {
	hopts := &slog.HandlerOptions{Level: o.logLevel}
	if o.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(e.stderr, hopts))
	}
	return slog.New(slog.NewTextHandler(e.stderr, hopts))
}
