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
	// Security is the security protocol: NoiseID, or "" with
	// Options.Insecure.
	Security string
	// StreamMultiplexer is the muxer, YamuxID.
	StreamMultiplexer string
	// UsedEarlyMuxerNegotiation is true when the muxer was agreed inside
	// the Noise handshake rather than with multistream-select.
	UsedEarlyMuxerNegotiation bool
}

// Timings is how long each layer of a connection's setup took, as a
// benchmark reports connection setup.
type Timings struct {
	// TCP is the TCP connect; zero on an accepted connection.
	TCP time.Duration
	// Security is multistream-select of "/noise" and the Noise handshake;
	// zero with Options.Insecure.
	Security time.Duration
	// Muxer is the muxer negotiation (none when Noise agreed on it) and
	// the start of the yamux session.
	Muxer time.Duration
}

// Stages of an upgrade, as UpgradeError.Stage names them.
const (
	StageSecurityNegotiation = "security negotiation"
	StageNoiseHandshake      = "noise handshake"
	StageMuxerNegotiation    = "muxer negotiation"
	StageYamux               = "yamux"
)

// UpgradeError is a failed upgrade: the stage that failed and why. It
// matches ErrUpgrade and unwraps to the stage's own error
// (noise.ErrPeerIDMismatch, a multistream error, a timeout, …).
type UpgradeError struct {
	// Stage is one of the Stage constants.
	Stage string
	// Err is the stage's error.
	Err error
}

func (e *UpgradeError) Error() string {
	return fmt.Sprintf("%v: %s: %v", ErrUpgrade, e.Stage, e.Err)
}

// Unwrap returns the stage's error.
func (e *UpgradeError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUpgrade) true.
func (e *UpgradeError) Is(target error) bool { return target == ErrUpgrade }

// upgrade turns c into a libp2p connection: security negotiation, Noise,
// muxer negotiation, yamux (or, with Insecure, yamux alone). It owns c: on
// failure c is closed. The whole upgrade runs under HandshakeTimeout (or
// ctx's earlier deadline), and cancelling ctx aborts it. tcp is how long
// the TCP connect took.
func (h *Host) upgrade(ctx context.Context, c net.Conn, outbound bool, remote peer.ID, tcp time.Duration) (*Conn, error) {
	if f := h.opts.WrapConn; f != nil {
		c = f(c)
	}
	untrack, ok := h.trackPending(c)
	if !ok {
		return nil, ErrClosed
	}
	defer untrack()
	timings := Timings{TCP: tcp}
	if h.opts.Insecure {
		return h.startInsecure(c, outbound, timings)
	}
	ctx, cancel := context.WithTimeout(ctx, h.opts.HandshakeTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	// The deadline bounds the blocking reads and writes of the
	// negotiations; cancellation expires it at once.
	if err := c.SetDeadline(deadline); err != nil {
		c.Close()
		return nil, &UpgradeError{StageSecurityNegotiation, err}
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	fail := func(stage string, err error) (*Conn, error) {
		c.Close()
		if ctx.Err() != nil && !isDeadline(err) {
			err = fmt.Errorf("%w (%w)", err, context.Cause(ctx))
		}
		return nil, &UpgradeError{stage, err}
	}
	t0 := time.Now()
	var err error
	if outbound {
		_, err = multistream.SelectOneOf([]string{NoiseID}, c)
	} else {
		_, err = multistream.Negotiate(c, []string{NoiseID})
	}
	if err != nil {
		return fail(StageSecurityNegotiation, err)
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
		return fail(StageNoiseHandshake, err) // c is closed already; closing again is harmless
	}
	t1 := time.Now()
	timings.Security = t1.Sub(t0)

	state := ConnState{Security: NoiseID, StreamMultiplexer: nc.Muxer(), UsedEarlyMuxerNegotiation: nc.Muxer() != ""}
	if state.StreamMultiplexer == "" {
		// No muxer agreed in the handshake: multistream-select inside the
		// secured conn (docs/libp2p-decisions.md, "no overlap").
		if err := nc.SetDeadline(deadline); err != nil {
			nc.Close()
			return fail(StageMuxerNegotiation, err)
		}
		if outbound {
			_, err = multistream.SelectOneOf([]string{YamuxID}, nc)
		} else {
			_, err = multistream.Negotiate(nc, []string{YamuxID})
		}
		if err != nil {
			nc.Close()
			return fail(StageMuxerNegotiation, err)
		}
		state.StreamMultiplexer = YamuxID
	} else if state.StreamMultiplexer != YamuxID {
		// Cannot happen while we list only yamux; a guard, not a path.
		nc.Close()
		return fail(StageMuxerNegotiation, fmt.Errorf("noise agreed on %q, which we do not speak", state.StreamMultiplexer))
	}
	if !stop() || nc.SetDeadline(time.Time{}) != nil {
		nc.Close()
		return fail(StageMuxerNegotiation, context.Cause(ctx))
	}

	sess, err := h.startSession(nc, outbound)
	if err != nil {
		nc.Close()
		return fail(StageYamux, err)
	}
	timings.Muxer = time.Since(t1)
	return newConn(h, c, nc, sess, state, timings, outbound), nil
}

// startInsecure starts yamux straight on c: there is nothing to negotiate,
// so a peer that expects another protocol only shows itself by ending the
// session on its first frames.
func (h *Host) startInsecure(c net.Conn, outbound bool, timings Timings) (*Conn, error) {
	t0 := time.Now()
	sess, err := h.startSession(c, outbound)
	if err != nil {
		c.Close()
		return nil, &UpgradeError{StageYamux, err}
	}
	timings.Muxer = time.Since(t0)
	return newConn(h, c, nil, sess, ConnState{StreamMultiplexer: YamuxID}, timings, outbound), nil
}

// startSession starts our side of yamux: the client when we dialed.
func (h *Host) startSession(c net.Conn, outbound bool) (*yamux.Session, error) {
	if outbound {
		return yamux.Client(c, h.opts.Yamux)
	}
	return yamux.Server(c, h.opts.Yamux)
}

func isDeadline(err error) bool {
	var ne net.Error
	return errorsAs(err, &ne) && ne.Timeout()
}
