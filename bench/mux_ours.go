package main

import (
	"net"

	"github.com/yamuxgo/yamux"
)

// Every muxer is configured alike where the library allows: defaults, except
// that the stream-count and accept-queue limits are raised so the scale and
// idle scenarios (10,000 streams) fit.
const streamLimit = 1 << 15

func oursMuxer() *Muxer {
	return &Muxer{Name: "ours", Version: "github.com/yamuxgo/yamux (this tree)", New: func(conn net.Conn, client bool) (Session, error) {
		cfg := yamux.DefaultConfig()
		cfg.MaxIncomingStreams = streamLimit
		cfg.AcceptBacklog = streamLimit
		var s *yamux.Session
		var err error
		if client {
			s, err = yamux.Client(conn, cfg)
		} else {
			s, err = yamux.Server(conn, cfg)
		}
		if err != nil {
			return nil, err
		}
		return oursSession{s}, nil
	}}
}

type oursSession struct{ s *yamux.Session }

func (o oursSession) Open() (Stream, error) {
	st, err := o.s.OpenStream()
	if err != nil {
		return nil, err
	}
	return st, nil
}

func (o oursSession) Accept() (Stream, error) {
	st, err := o.s.AcceptStream()
	if err != nil {
		return nil, err
	}
	return st, nil
}

func (o oursSession) Close() error { return o.s.Close() }
