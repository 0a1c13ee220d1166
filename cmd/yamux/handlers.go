package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/identify"
	"github.com/yamuxgo/yamux/multistream"
	"github.com/yamuxgo/yamux/peer"
	"github.com/yamuxgo/yamux/perf"
	"github.com/yamuxgo/yamux/ping"
)

// agentVersion is what we announce in identify.
func agentVersion() string { return "yamuxgo-cli/" + versionWord() }

// serverHandlers are the protocols serve (and the in-process perf server)
// answers. listenAddr is announced in identify.
func serverHandlers(key *peer.PrivateKey, perfSrv *perfServer, listenAddr func() string, log *slog.Logger) map[string]handler {
	h := map[string]handler{
		perf.ProtocolID: func(ctx context.Context, st *yamux.Stream, _ *serverConn) { perfSrv.handle(ctx, st) },
		ping.ID:         func(ctx context.Context, st *yamux.Stream, _ *serverConn) { servePing(ctx, st, log) },
		echoID:          func(ctx context.Context, st *yamux.Stream, _ *serverConn) { serveEcho(ctx, st, log) },
	}
	protos := []string{identify.ID, perf.ProtocolID, ping.ID, echoID}
	h[identify.ID] = func(_ context.Context, st *yamux.Stream, c *serverConn) {
		serveIdentify(st, identifyRecord(key, protos, listenAddr(), c.remoteAddr), log)
	}
	return h
}

// identifyRecord is what we tell a peer about ourselves.
func identifyRecord(key *peer.PrivateKey, protos []string, listenAddr string, observed net.Addr) *identify.Record {
	r := &identify.Record{
		ProtocolVersion: "ipfs/0.1.0",
		AgentVersion:    agentVersion(),
		PublicKey:       key.Public(),
		Protocols:       protos,
	}
	if listenAddr != "" {
		if m, err := ma.NewMultiaddr(listenAddr); err == nil {
			// Without /p2p: identify lists transport addresses.
			m, _ = ma.SplitFunc(m, func(c ma.Component) bool { return c.Code() == ma.P_P2P })
			r.ListenAddrs = []ma.Multiaddr{m}
		}
	}
	if observed != nil {
		if m, err := ma.NewMultiaddr(tcpMultiaddr(observed, peer.ID{})); err == nil {
			r.ObservedAddr = m
		}
	}
	return r
}

func serveIdentify(st *yamux.Stream, r *identify.Record, log *slog.Logger) {
	defer st.Close()
	st.SetWriteDeadline(time.Now().Add(negotiationTimeout))
	if err := identify.Write(st, r); err != nil {
		log.Debug("identify failed", "err", err)
		st.Reset()
		return
	}
	st.CloseWrite()
}

func servePing(ctx context.Context, st *yamux.Stream, log *slog.Logger) {
	stop := context.AfterFunc(ctx, func() { st.Reset() })
	defer stop()
	defer st.Close()
	if err := ping.Serve(st); err != nil && !errors.Is(err, io.EOF) {
		log.Debug("ping stream ended", "err", err)
	}
}

func serveEcho(ctx context.Context, st *yamux.Stream, log *slog.Logger) {
	stop := context.AfterFunc(ctx, func() { st.Reset() })
	defer stop()
	defer st.Close()
	// *yamux.Stream has no ReadFrom or WriteTo, so this is a plain loop of
	// 32 KiB reads and writes.
	n, err := io.Copy(st, st)
	if err != nil {
		log.Debug("echo failed", "err", err, "bytes", n)
		st.Reset()
		return
	}
	st.CloseWrite()
	log.Debug("echo done", "bytes", n)
}

// answerInbound serves the streams a peer opens on a connection we dialed:
// identify and ping, as libp2p nodes expect of any peer; other protocols
// are refused. It returns when the session ends.
func answerInbound(sess *yamux.Session, key *peer.PrivateKey, log *slog.Logger) {
	var wg sync.WaitGroup
	defer wg.Wait()
	protos := []string{identify.ID, ping.ID}
	for {
		st, err := sess.AcceptStream()
		if err != nil {
			return
		}
		wg.Go(func() {
			st.SetDeadline(time.Now().Add(negotiationTimeout))
			proto, err := multistream.Negotiate(st, protos)
			if err != nil {
				st.Reset()
				return
			}
			st.SetDeadline(time.Time{})
			switch proto {
			case identify.ID:
				serveIdentify(st, identifyRecord(key, protos, "", sess.RemoteAddr()), log)
			case ping.ID:
				// The stream fails, and Serve returns, when the session ends.
				servePing(context.Background(), st, log)
			}
		})
	}
}
