package main

import (
	"net"

	"github.com/xtaci/smux"
)

func smuxMuxer() *Muxer {
	return &Muxer{Name: "smux", Version: "github.com/xtaci/smux v1.5.58", New: func(conn net.Conn, client bool) (Session, error) {
		cfg := smux.DefaultConfig()
		var s *smux.Session
		var err error
		if client {
			s, err = smux.Client(conn, cfg)
		} else {
			s, err = smux.Server(conn, cfg)
		}
		if err != nil {
			return nil, err
		}
		return smuxSession{s}, nil
	}}
}

type smuxSession struct{ s *smux.Session }

func (m smuxSession) Open() (Stream, error) {
	st, err := m.s.OpenStream()
	if err != nil {
		return nil, err
	}
	return st, nil
}

func (m smuxSession) Accept() (Stream, error) {
	st, err := m.s.AcceptStream()
	if err != nil {
		return nil, err
	}
	return st, nil
}

func (m smuxSession) Close() error { return m.s.Close() }
