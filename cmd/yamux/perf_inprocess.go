package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/yamuxgo/yamux/identify"
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
	srv := &perfServer{verify: true, log: quiet}
	var ss *stackServer
	ss = newStackServer(serverKey, o.insecure, quiet, serverHandlers(serverKey, srv, func() string { return ss.addr() }, quiet))
	if err := ss.listen("/ip4/127.0.0.1/tcp/0"); err != nil {
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
	tg, err := parseTarget(addr)
	if err != nil {
		return nil, err
	}
	key, err := loadKey(o.keyFile)
	if err != nil {
		return nil, err
	}
	sc, err := dialStack(ctx, key, tg, o.insecure, o.timeout)
	if err != nil {
		return nil, err
	}
	sess := sc.session
	var wg sync.WaitGroup
	wg.Go(func() { answerInbound(sess, key, slog.New(slog.DiscardHandler)) })
	t := &perfTarget{
		addr:     addr,
		stack:    "TCP + Yamux (no security)",
		security: "none",
		session:  sess,
		open: func(ctx context.Context) (perf.Stream, error) {
			return openProtocol(ctx, sess, perf.ProtocolID)
		},
		setup: sc.setup,
		closeFn: func() error {
			err := sess.Close()
			wg.Wait()
			return err
		},
	}
	if !o.insecure {
		t.security = "noise"
		t.remotePeer = sc.remote.String()
		t.stack = "TCP + Noise + Yamux"
		if sc.earlyMuxer {
			t.stack += " (muxer agreed inside Noise)"
		} else {
			t.stack += " (muxer agreed with multistream-select)"
		}
	}
	t.verifyContent = peerIsOurs(ctx, t)
	return t, nil
}

// peerIsOurs asks the peer's identify whether it is this command's serve,
// whose perf server sends the verifiable pattern. Any failure means no.
func peerIsOurs(ctx context.Context, t *perfTarget) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := openProtocol(ctx, t.session, identify.ID)
	if err != nil {
		return false
	}
	defer st.Close()
	st.SetReadDeadline(time.Now().Add(5 * time.Second))
	rec, err := identify.Read(st)
	if err != nil {
		return false
	}
	return strings.HasPrefix(rec.AgentVersion, "yamuxgo-cli/")
}
