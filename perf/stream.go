package perf

import (
	"io"
	"sync/atomic"
)

// ProtocolID is the protocol's name in multistream-select.
const ProtocolID = "/perf/1.0.0"

// Unbounded is the download size a client asks for when it means to stop
// the download itself, by resetting the stream (Request.DownloadFor).
const Unbounded = ^uint64(0)

// Stream is what both sides need from a stream: reads, writes and a
// half-close that makes the peer read EOF while we keep reading.
//
// A stream that also has a Reset method (a *yamux.Stream, a libp2p stream)
// is reset when an exchange is abandoned; otherwise it is closed if it is an
// io.Closer.
type Stream interface {
	io.Reader
	io.Writer
	CloseWrite() error
}

// abort ends s at once, so that a blocked Read or Write returns.
func abort(s Stream) {
	switch c := s.(type) {
	case interface{ Reset() error }:
		_ = c.Reset()
	case io.Closer:
		_ = c.Close()
	}
}

// Counters are live byte counts of one or more exchanges, updated after
// every read and write so that another goroutine can report progress. Both
// are named from the client's point of view: Uploaded is what the client
// sent and the server received.
type Counters struct {
	Uploaded   atomic.Uint64
	Downloaded atomic.Uint64
}

func (c *Counters) addUp(n int) {
	if c != nil {
		c.Uploaded.Add(uint64(n))
	}
}

func (c *Counters) addDown(n int) {
	if c != nil {
		c.Downloaded.Add(uint64(n))
	}
}
