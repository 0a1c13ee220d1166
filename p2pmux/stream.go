package p2pmux

import (
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/yamuxgo/yamux"
)

// stream is a network.MuxedStream over one *yamux.Stream. It only
// translates errors: the semantics go-libp2p asks for (Close closes both
// directions without waiting, CloseRead interrupts Reads, ResetWithError
// sends the code) are the core's own.
type stream struct {
	s *yamux.Stream
}

var _ network.MuxedStream = (*stream)(nil)

func (st *stream) Read(b []byte) (int, error) {
	n, err := st.s.Read(b)
	return n, translateError(err)
}

func (st *stream) Write(b []byte) (int, error) {
	n, err := st.s.Write(b)
	return n, translateError(err)
}

func (st *stream) Close() error      { return translateError(st.s.Close()) }
func (st *stream) CloseRead() error  { return translateError(st.s.CloseRead()) }
func (st *stream) CloseWrite() error { return translateError(st.s.CloseWrite()) }
func (st *stream) Reset() error      { return translateError(st.s.Reset()) }

// ResetWithError sends code in the RST frame's length field (the libp2p
// error-code extension); the peer sees it as StreamError.ErrorCode.
func (st *stream) ResetWithError(code network.StreamErrorCode) error {
	return translateError(st.s.ResetWithError(uint32(code)))
}

func (st *stream) SetDeadline(t time.Time) error      { return st.s.SetDeadline(t) }
func (st *stream) SetReadDeadline(t time.Time) error  { return st.s.SetReadDeadline(t) }
func (st *stream) SetWriteDeadline(t time.Time) error { return st.s.SetWriteDeadline(t) }
