package host

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/multistream"
)

// Stream is a yamux stream whose application protocol was negotiated. Its
// yamux methods (deadlines, Reset, CloseRead, …) are the embedded
// *yamux.Stream's; Read, Write, Close and CloseWrite go through the lazy
// negotiation when NewStream chose it.
type Stream struct {
	*yamux.Stream
	conn     *Conn
	protocol string
	lazy     *multistream.Lazy // nil once negotiated or when not lazy

	resetOnce sync.Once
}

// Protocol returns the stream's protocol. For a lazily negotiated stream
// it is the proposal, which the first Read confirms or refutes.
func (s *Stream) Protocol() string { return s.protocol }

// Lazy reports whether NewStream proposed the protocol lazily, so that
// the peer's answer is only checked by the first Read.
func (s *Stream) Lazy() bool { return s.lazy != nil }

// Conn returns the connection the stream belongs to.
func (s *Stream) Conn() *Conn { return s.conn }

// Read reads application bytes. On a lazy stream whose protocol the peer
// refused, it returns a *multistream.NotSupportedError and resets the
// stream.
func (s *Stream) Read(b []byte) (int, error) {
	if s.lazy == nil {
		return s.Stream.Read(b)
	}
	n, err := s.lazy.Read(b)
	if errors.Is(err, multistream.ErrNotSupported) {
		s.resetOnce.Do(func() { s.Stream.Reset() })
	}
	return n, err
}

// Write writes application bytes; on a lazy stream the first Write carries
// the negotiation too.
func (s *Stream) Write(b []byte) (int, error) {
	if s.lazy == nil {
		return s.Stream.Write(b)
	}
	return s.lazy.Write(b)
}

// CloseWrite half-closes the stream, after sending a lazy negotiation that
// is still pending.
func (s *Stream) CloseWrite() error {
	if s.lazy == nil {
		return s.Stream.CloseWrite()
	}
	return s.lazy.CloseWrite()
}

// Close closes the stream, after sending a lazy negotiation that is still
// pending (bounded by multistream.CloseTimeout).
func (s *Stream) Close() error {
	if s.lazy == nil {
		return s.Stream.Close()
	}
	return s.lazy.Close()
}

// NewStream opens a stream to the peer for the first of protocols it
// accepts, in order. With a single protocol that the peer's identify
// record lists, the negotiation is lazy (go-libp2p does the same): the
// stream is returned at once, the proposal travels with the first Write,
// and a refusal surfaces on the first Read. Otherwise NewStream waits for
// the peer's answer, bounded by ctx and NegotiationTimeout; a refusal is a
// *multistream.NotSupportedError.
func (c *Conn) NewStream(ctx context.Context, protocols ...string) (*Stream, error) {
	if len(protocols) == 0 {
		return nil, ErrNoProtocols
	}
	st, err := c.sess.OpenStreamContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("host: opening a stream: %w", err)
	}
	if rec := c.identifiedRecord(); len(protocols) == 1 && rec != nil && rec.HasProtocol(protocols[0]) {
		lz, err := multistream.NewLazy(st, protocols[0])
		if err != nil {
			st.Reset()
			return nil, err
		}
		return &Stream{Stream: st, conn: c, protocol: protocols[0], lazy: lz}, nil
	}
	deadline := time.Now().Add(c.host.opts.NegotiationTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	st.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { st.SetDeadline(time.Unix(1, 0)) })
	proto, err := multistream.SelectOneOf(protocols, st)
	if !stop() && err == nil {
		err = context.Cause(ctx)
	}
	if err != nil {
		st.Reset()
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", err, context.Cause(ctx))
		}
		return nil, fmt.Errorf("host: negotiating %q: %w", protocols, err)
	}
	st.SetDeadline(time.Time{})
	return &Stream{Stream: st, conn: c, protocol: proto}, nil
}
