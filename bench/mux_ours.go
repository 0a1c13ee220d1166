package main

import (
	"net"

	"github.com/yamuxgo/yamux"
)

// Every muxer is configured alike where the library allows: defaults, except
// that the stream-count and accept-queue limits are raised so the scale and
// idle scenarios (10,000 streams) fit.
const streamLimit = 1 << 15

// streamLimits says whether a muxer's stream-count and accept-queue limits
// are raised to streamLimit (the plain contenders) or left at the
// library's defaults (the stack contenders, see noiseContenders).
type streamLimits uint8

const (
	raisedLimits streamLimits = iota
	defaultLimits
)

func oursMuxer(limits streamLimits) *Muxer {
	return &Muxer{Name: "ours", Version: "github.com/yamuxgo/yamux (this tree)", New: func(conn net.Conn, client bool) (Session, error) {
		cfg := yamux.DefaultConfig()
		if limits == raisedLimits {
			cfg.MaxIncomingStreams = streamLimit
			cfg.AcceptBacklog = streamLimit
		}
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
