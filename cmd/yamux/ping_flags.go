package main

import "time"

const pingDescription = `Sends libp2p pings (/ipfs/ping/1.0.0: 32 random bytes, echoed) to a peer over
TCP + Noise + Yamux and prints one line per reply, like ping(8), then a
min/avg/max/stddev summary. It runs until -c replies or SIGINT. Exits 1 if no
reply came back.`

const pingExamples = `  yamux ping /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...
  yamux ping -c 5 -i 200ms /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...`

// pingOptions is the parsed command line of ping.
type pingOptions struct {
	target   string
	count    int
	interval time.Duration
	wait     time.Duration
	timeout  time.Duration
	keyFile  string
	insecure bool
}

func parsePing(e *env, args []string) (*pingOptions, error) {
	o := &pingOptions{}
	fs := newFlagSet(e, "ping", "yamux ping MULTIADDR [-c N] [-i INTERVAL]", pingDescription, pingExamples)
	fs.IntVar(&o.count, "c", 0, "stop after `N` pings (default: until interrupted)")
	fs.DurationVar(&o.interval, "i", time.Second, "wait `INTERVAL` between pings")
	fs.DurationVar(&o.wait, "W", 5*time.Second, "wait up to `D` for each reply")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "give up connection setup after `D`")
	fs.StringVar(&o.keyFile, "key", "", "use the identity key in `FILE` (default: a fresh key for this run)")
	fs.BoolVar(&o.insecure, "insecure", false, "raw Yamux over TCP, no Noise (for 'yamux serve --insecure')")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return nil, err
	}
	switch {
	case len(pos) != 1:
		return nil, usageErrorf("want one MULTIADDR, got %d arguments", len(pos))
	case o.count < 0:
		return nil, usageErrorf("-c %d: want a positive count", o.count)
	case o.interval < time.Millisecond:
		return nil, usageErrorf("-i %v: want at least 1ms", o.interval)
	case o.wait <= 0 || o.timeout <= 0:
		return nil, usageErrorf("-W and --timeout want positive durations")
	}
	o.target = pos[0]
	return o, nil
}
