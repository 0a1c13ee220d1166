package main

import (
	"context"
	"io"
	"net"

	goyamux "github.com/libp2p/go-yamux/v5"
)

// goyamuxMuxer is go-yamux at its defaults, with MaxStreamWindowSize
// raised to maxWindow when that is non-zero and the stream limits raised
// if limits says so.
func goyamuxMuxer(maxWindow uint32, limits streamLimits) *Muxer {
	return &Muxer{Name: "go-yamux", Version: "github.com/libp2p/go-yamux/v5 v5.1.0", New: func(conn net.Conn, client bool) (Session, error) {
		cfg := goyamux.DefaultConfig()
		if limits == raisedLimits {
			cfg.AcceptBacklog = streamLimit
			cfg.MaxIncomingStreams = streamLimit
		}
		cfg.LogOutput = io.Discard
		if maxWindow != 0 {
			cfg.MaxStreamWindowSize = maxWindow
		}
		var s *goyamux.Session
		var err error
		if client {
			s, err = goyamux.Client(conn, cfg, nil)
		} else {
			s, err = goyamux.Server(conn, cfg, nil)
		}
		if err != nil {
			return nil, err
		}
		return goyamuxSession{s}, nil
	}}
}

type goyamuxSession struct{ s *goyamux.Session }

func (g goyamuxSession) Open() (Stream, error) {
	st, err := g.s.OpenStream(context.Background())
	if err != nil {
		return nil, err
	}
	return st, nil
}

func (g goyamuxSession) Accept() (Stream, error) {
	st, err := g.s.AcceptStream()
	if err != nil {
		return nil, err
	}
	return st, nil
}

func (g goyamuxSession) Close() error { return g.s.Close() }
