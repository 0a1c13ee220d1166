// Package ping implements libp2p's ping protocol (/ipfs/ping/1.0.0): the
// dialer of a stream writes 32 random bytes, the listener echoes them, and
// the dialer measures the round trip. One stream carries any number of
// pings; the dialer ends it by closing its write side.
//
// Ping and Serve take the stream after multistream-select has chosen the
// protocol (the host does that).
package ping

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"
)

// ID is the protocol ID of ping.
const ID = "/ipfs/ping/1.0.0"

// Size is the payload of one ping.
const Size = 32

// IdleTimeout is how long Serve waits for the next ping before it gives up
// on the stream, when the stream has read deadlines (go-libp2p waits 10 s;
// we are more patient with slow peers, see docs/libp2p-decisions.md).
const IdleTimeout = 60 * time.Second

// ErrMismatch: the echo differs from what we sent.
var ErrMismatch = errors.New("ping: echo does not match")

// Ping sends one ping on rw and returns the round-trip time.
func Ping(rw io.ReadWriter) (time.Duration, error) {
	var out, in [Size]byte
	rand.Read(out[:])
	start := time.Now()
	if _, err := rw.Write(out[:]); err != nil {
		return 0, fmt.Errorf("ping: sending: %w", err)
	}
	if _, err := io.ReadFull(rw, in[:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, fmt.Errorf("ping: reading the echo: %w", err)
	}
	rtt := time.Since(start)
	if !bytes.Equal(in[:], out[:]) {
		return 0, ErrMismatch
	}
	return rtt, nil
}

type readDeadliner interface{ SetReadDeadline(time.Time) error }

// Serve echoes pings on rw until the dialer closes its write side (then it
// returns nil) or an error occurs. A stream ending in the middle of a ping
// is io.ErrUnexpectedEOF.
func Serve(rw io.ReadWriter) error {
	var buf [Size]byte
	d, hasDeadline := rw.(readDeadliner)
	for {
		if hasDeadline {
			_ = d.SetReadDeadline(time.Now().Add(IdleTimeout))
		}
		if _, err := io.ReadFull(rw, buf[:]); err != nil {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("ping: reading: %w", err)
		}
		if _, err := rw.Write(buf[:]); err != nil {
			return fmt.Errorf("ping: echoing: %w", err)
		}
	}
}
