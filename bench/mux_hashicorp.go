package main

import (
	"io"
	"net"

	hashicorp "github.com/hashicorp/yamux"
)

func hashicorpMuxer() *Muxer {
	return &Muxer{Name: "hashicorp", Version: "github.com/hashicorp/yamux v0.1.2", New: func(conn net.Conn, client bool) (Session, error) {
		cfg := hashicorp.DefaultConfig()
		cfg.AcceptBacklog = streamLimit
		cfg.LogOutput = io.Discard
		var s *hashicorp.Session
		var err error
		if client {
			s, err = hashicorp.Client(conn, cfg)
		} else {
			s, err = hashicorp.Server(conn, cfg)
		}
		if err != nil {
			return nil, err
		}
		return hashicorpSession{s}, nil
	}}
}

type hashicorpSession struct{ s *hashicorp.Session }

func (h hashicorpSession) Open() (Stream, error) {
	st, err := h.s.OpenStream()
	if err != nil {
		return nil, err
	}
	return st, nil
}

func (h hashicorpSession) Accept() (Stream, error) {
	st, err := h.s.AcceptStream()
	if err != nil {
		return nil, err
	}
	return st, nil
}

func (h hashicorpSession) Close() error { return h.s.Close() }
