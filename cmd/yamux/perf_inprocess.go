package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/yamuxgo/yamux/peer"
	"github.com/yamuxgo/yamux/perf"
)

// startInProcess starts the serve stack on 127.0.0.1 inside this process
// and dials it, so one process measures both ends.
func startInProcess(ctx context.Context, o *perfOptions) (*perfTarget, error) {
	serverKey, err := peer.GenerateEd25519Key(nil)
	if err != nil {
		return nil, fmt.Errorf("generating the server's key: %w", err)
	}
	quiet := slog.New(slog.DiscardHandler)
	srv := &perfServer{verify: true, keepErrors: true, log: quiet}
	ss, err := newServer(serverKey, o.insecure, quiet, srv, nil)
	if err != nil {
		return nil, err
	}
	if err := ss.listen("/ip4/127.0.0.1/tcp/0"); err != nil {
		ss.shutdown(0, nil)
		return nil, err
	}
	stopServer := func() { ss.shutdown(0, nil) }
	t, err := dialTarget(ctx, o, ss.addr())
	if err != nil {
		stopServer()
		return nil, err
	}
	t.inProcess = true
	t.verifyContent = true
	t.server = srv
	closeClient := t.closeFn
	t.closeFn = func() error {
		err := closeClient()
		stopServer()
		return err
	}
	return t, nil
}

// dialPerfTarget connects to the perf server the user named.
func dialPerfTarget(ctx context.Context, o *perfOptions) (*perfTarget, error) {
	return dialTarget(ctx, o, o.target)
}

func dialTarget(ctx context.Context, o *perfOptions, addr string) (*perfTarget, error) {
	key, err := loadKey(o.keyFile)
	if err != nil {
		return nil, err
	}
	c, err := dialClient(ctx, key, addr, o.insecure, o.timeout)
	if err != nil {
		return nil, err
	}
	t := &perfTarget{
		addr:     addr,
		stack:    "TCP + Yamux (no security)",
		security: "none",
		session:  c.conn.Session(),
		open: func(ctx context.Context) (perf.Stream, error) {
			return c.openProtocol(ctx, perf.ProtocolID)
		},
		setup:   c.conn.Timings(),
		closeFn: c.close,
	}
	if !o.insecure {
		t.security = "noise"
		t.remotePeer = c.conn.RemotePeer().String()
		t.stack = "TCP + Noise + Yamux"
		if c.conn.ConnState().UsedEarlyMuxerNegotiation {
			t.stack += " (muxer agreed inside Noise)"
		} else {
			t.stack += " (muxer agreed with multistream-select)"
		}
	}
	t.verifyContent = peerIsOurs(ctx, c)
	return t, nil
}

// peerIsOurs asks the peer's identify (which the host runs on every new
// connection) whether it is this command's serve, whose perf server sends
// the verifiable pattern. Any failure means no.
func peerIsOurs(ctx context.Context, c *client) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rec, err := c.conn.Identify(ctx)
	if err != nil {
		return false
	}
	return strings.HasPrefix(rec.AgentVersion, "yamuxgo-cli/")
}
