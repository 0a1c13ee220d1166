package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"

	"github.com/yamuxgo/yamux/noise"
	"github.com/yamuxgo/yamux/peer"
)

// The libp2p stack without a host: TCP + our Noise (XX, ChaCha20-Poly1305)
// and, optionally, a multiplexer on top. "noise" alone is the crypto
// ceiling the issue measures the stack against.

// stackScenarios are the scenarios the stack contenders run.
var stackScenarios = []string{"bulk-tcp", "pingpong-tcp", "dial-echo-tcp"}

// noiseSecure returns a Secure layer running our Noise handshake between
// two fixed identities: the client (initiator) checks the server's peer ID.
func noiseSecure() (Secure, error) {
	clientKey, err := peer.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, err
	}
	serverKey, err := peer.GenerateEd25519Key(rand.Reader)
	if err != nil {
		return nil, err
	}
	serverID := serverKey.ID()
	return func(conn net.Conn, client bool) (net.Conn, error) {
		if client {
			return noise.SecureOutbound(context.Background(), conn, noise.Config{Identity: clientKey}, serverID)
		}
		return noise.SecureInbound(context.Background(), conn, noise.Config{Identity: serverKey})
	}, nil
}

// noiseContenders are bare Noise and multiplexers over Noise; their
// reference is bare Noise rather than raw.
//
// The stack's multiplexers run at their library defaults. The plain
// contenders raise the stream-count and accept-queue limits for the scale
// and idle scenarios, which the stack does not run; over a fresh session
// that raised AcceptBacklog is a 32,768-slot channel (256 KiB) made on
// both ends of every dial, which go-libp2p's hosts (go-yamux's default
// backlog, 256) do not pay, so dial-echo-tcp would charge the stack's
// contenders for a setting of the harness.
func noiseContenders() ([]Contender, error) {
	sec, err := noiseSecure()
	if err != nil {
		return nil, fmt.Errorf("muxbench: noise identities: %w", err)
	}
	const note = "TCP + github.com/yamuxgo/yamux/noise (XX, ChaCha20-Poly1305, this tree)"
	return []Contender{
		{Name: "noise", Note: note + ", one connection per stream: the crypto ceiling", Secure: sec, Only: stackScenarios, Base: "noise"},
		{Name: "ours+noise", Note: note + " + ours, defaults", Secure: sec, Mux: oursMuxer(defaultLimits), Only: stackScenarios, Base: "noise"},
		{Name: "go-yamux+noise", Note: note + " + go-yamux v5.1.0 at its defaults (what go-libp2p runs, without the host)", Secure: sec, Mux: goyamuxMuxer(0, defaultLimits), Only: stackScenarios, Base: "noise"},
		libp2pContender(),
	}, nil
}
