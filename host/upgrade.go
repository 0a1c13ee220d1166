package host

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/multistream"
	"github.com/yamuxgo/yamux/noise"
	"github.com/yamuxgo/yamux/peer"
)

// ConnState says how a connection was set up.
type ConnState struct {
	// Security is the security protocol, NoiseID.
	Security string
	// StreamMultiplexer is the muxer, YamuxID.
	StreamMultiplexer string
	// UsedEarlyMuxerNegotiation is true when the muxer was agreed inside
	// the Noise handshake rather than with multistream-select.
	UsedEarlyMuxerNegotiation bool
}

// upgrade turns c into a libp2p connection: security negotiation, Noise,
// muxer negotiation, yamux. It owns c: on failure c is closed. The whole
// upgrade runs under HandshakeTimeout (or ctx's earlier deadline), and
// cancelling ctx aborts it.
func (h *Host) upgrade(ctx context.Context, c net.Conn, outbound bool, remote peer.ID) (*Conn, error) {
	untrack, ok := h.trackPending(c)
	if !ok {
		return nil, ErrClosed
	}
	defer untrack()
	ctx, cancel := context.WithTimeout(ctx, h.opts.HandshakeTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	// The deadline bounds the blocking reads and writes of the
	// negotiations; cancellation expires it at once.
	if err := c.SetDeadline(deadline); err != nil {
		c.Close()
		return nil, fmt.Errorf("%w: %w", ErrUpgrade, err)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	fail := func(stage string, err error) (*Conn, error) {
		c.Close()
		if ctx.Err() != nil && !isDeadline(err) {
			err = fmt.Errorf("%w (%w)", err, context.Cause(ctx))
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrUpgrade, stage, err)
	}
	var err error
	if outbound {
		_, err = multistream.SelectOneOf([]string{NoiseID}, c)
	} else {
		_, err = multistream.Negotiate(c, []string{NoiseID})
	}
	if err != nil {
		return fail("security negotiation", err)
	}

	cfg := noise.Config{Identity: h.key, HandshakeTimeout: time.Until(deadline)}
	if !h.opts.NoEarlyMuxerNegotiation {
		cfg.Muxers = []string{YamuxID}
	}
	var nc *noise.Conn
	if outbound {
		nc, err = noise.SecureOutbound(ctx, c, cfg, remote)
	} else {
		nc, err = noise.SecureInbound(ctx, c, cfg)
	}
	if err != nil {
		return fail("noise handshake", err) // c is closed already; closing again is harmless
	}

	state := ConnState{Security: NoiseID, StreamMultiplexer: nc.Muxer(), UsedEarlyMuxerNegotiation: nc.Muxer() != ""}
	if state.StreamMultiplexer == "" {
		// No muxer agreed in the handshake: multistream-select inside the
		// secured conn (docs/libp2p-decisions.md, "no overlap").
		if err := nc.SetDeadline(deadline); err != nil {
			nc.Close()
			return fail("muxer negotiation", err)
		}
		if outbound {
			_, err = multistream.SelectOneOf([]string{YamuxID}, nc)
		} else {
			_, err = multistream.Negotiate(nc, []string{YamuxID})
		}
		if err != nil {
			nc.Close()
			return fail("muxer negotiation", err)
		}
		state.StreamMultiplexer = YamuxID
	} else if state.StreamMultiplexer != YamuxID {
		// Cannot happen while we list only yamux; a guard, not a path.
		nc.Close()
		return fail("muxer negotiation", fmt.Errorf("noise agreed on %q, which we do not speak", state.StreamMultiplexer))
	}
	if !stop() || nc.SetDeadline(time.Time{}) != nil {
		nc.Close()
		return fail("muxer negotiation", context.Cause(ctx))
	}

	var sess *yamux.Session
	if outbound {
		sess, err = yamux.Client(nc, h.opts.Yamux)
	} else {
		sess, err = yamux.Server(nc, h.opts.Yamux)
	}
	if err != nil {
		nc.Close()
		return fail("yamux", err)
	}
	return newConn(h, nc, sess, state, outbound), nil
}

func isDeadline(err error) bool {
	var ne net.Error
	return errorsAs(err, &ne) && ne.Timeout()
}
