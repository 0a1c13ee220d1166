package yamux

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// initialWindow is the receive window every stream starts with in both
// directions; the spec fixes it (spec.md §4), so it is not configurable
// below this value.
const initialWindow = 256 * 1024

// Protocol-level bounds that are not configuration (spec.md §8).
const (
	// maxAckBacklog is how many of our streams may wait for the peer's ACK
	// before OpenStream waits (libp2p spec: "at most 256").
	maxAckBacklog = 256
	// maxPendingPongs and maxPendingResets bound the frames the receive
	// loop queues in answer to the peer (spec.md §5.1). They are set above
	// what a peer like us can ever cause — it has at most
	// maxOutstandingPings+2 pings and maxAckBacklog SYNs unanswered, and
	// what our send loop is writing may be answered once more before it
	// is counted off — so against such a peer the receive loop never
	// waits for reply room, on any transport. Beyond them the peer is
	// flooding us while not reading, and the loop stops reading, so it
	// cannot grow our memory.
	maxPendingPongs  = 64
	maxPendingResets = 2 * maxAckBacklog
	// maxOutstandingPings bounds our own Ping calls waiting for a pong:
	// so we never ask a peer like us for more than it answers at once.
	maxOutstandingPings = 16
	// maxStreamWindowLimit caps MaxStreamWindowSize: beyond 1 GiB a single
	// stream could pin unreasonable memory.
	maxStreamWindowLimit = 1 << 30
	// minMessageSize and maxMessageSizeLimit bound MaxMessageSize; rust-yamux
	// rejects DATA bodies over 1 MiB.
	minMessageSize      = 1024
	maxMessageSizeLimit = 1 << 20
)

// Config tunes a session. The zero value of any field means "use the
// default"; use DefaultConfig to see them.
type Config struct {
	// AcceptBacklog is how many inbound streams may wait for AcceptStream;
	// further SYNs are refused with RST.
	AcceptBacklog int
	// MaxIncomingStreams bounds the live inbound streams; further SYNs are
	// refused with RST.
	MaxIncomingStreams int
	// EnableKeepAlive turns the keepalive ping on. DefaultConfig sets it;
	// a Config built by hand must set it too.
	EnableKeepAlive bool
	// KeepAliveInterval is the time between keepalive pings.
	KeepAliveInterval time.Duration
	// KeepAliveTimeout is how long a keepalive ping may stay unanswered,
	// with no other frame arriving either, before the session fails with
	// ErrKeepAliveTimeout.
	KeepAliveTimeout time.Duration
	// ConnectionWriteTimeout bounds one write of frames to the connection;
	// a longer write fails the session with ErrConnectionWriteTimeout. It
	// also bounds Ping.
	ConnectionWriteTimeout time.Duration
	// InitialStreamWindowSize is the receive window a stream starts with.
	// 256 KiB is both the default and the minimum (spec.md §4); larger
	// values are announced to the peer with the SYN or ACK.
	InitialStreamWindowSize uint32
	// MaxStreamWindowSize is the ceiling of receive-window auto-tuning.
	MaxStreamWindowSize uint32
	// MaxSessionReceiveBuffer bounds the window growth above the initial
	// window, summed over all streams of the session (spec.md §4.4).
	MaxSessionReceiveBuffer int
	// MaxMessageSize is the largest DATA payload sent in one frame.
	MaxMessageSize int
	// StreamOpenTimeout resets a stream we opened whose SYN the peer has not
	// answered in time. The session lives on.
	StreamOpenTimeout time.Duration
	// StreamCloseTimeout resets a stream that was closed locally when the
	// peer's FIN does not arrive in time, so its resources are freed.
	StreamCloseTimeout time.Duration
	// GoAwayDrainTimeout closes a session after our GoAway once it has had
	// no stream for this long, so a peer that never closes cannot keep a
	// drained session open (spec.md §6.3).
	GoAwayDrainTimeout time.Duration
	// Logger receives debug and warning records; nil is silent.
	Logger *slog.Logger
}

// DefaultConfig returns the default configuration.
func DefaultConfig() *Config {
	return &Config{
		AcceptBacklog:           256,
		MaxIncomingStreams:      1000,
		EnableKeepAlive:         true,
		KeepAliveInterval:       30 * time.Second,
		KeepAliveTimeout:        10 * time.Second,
		ConnectionWriteTimeout:  10 * time.Second,
		InitialStreamWindowSize: initialWindow,
		MaxStreamWindowSize:     16 * 1024 * 1024,
		MaxSessionReceiveBuffer: 64 * 1024 * 1024,
		MaxMessageSize:          64 * 1024,
		StreamOpenTimeout:       75 * time.Second,
		StreamCloseTimeout:      5 * time.Minute,
		GoAwayDrainTimeout:      30 * time.Second,
	}
}

// VerifyConfig reports every field that is out of range, joined into one
// error. Zero fields are fine: they mean "default".
func VerifyConfig(config *Config) error {
	if config == nil {
		return nil
	}
	var errs []error
	bad := func(field string, value any, allowed string) {
		errs = append(errs, fmt.Errorf("yamux: config %s = %v out of range (%s)", field, value, allowed))
	}
	if config.AcceptBacklog < 0 {
		bad("AcceptBacklog", config.AcceptBacklog, "> 0, 0 for default")
	}
	if config.MaxIncomingStreams < 0 {
		bad("MaxIncomingStreams", config.MaxIncomingStreams, "> 0, 0 for default")
	}
	if config.KeepAliveInterval < 0 {
		bad("KeepAliveInterval", config.KeepAliveInterval, "> 0, 0 for default")
	}
	if config.KeepAliveTimeout < 0 {
		bad("KeepAliveTimeout", config.KeepAliveTimeout, "> 0, 0 for default")
	}
	if config.ConnectionWriteTimeout < 0 {
		bad("ConnectionWriteTimeout", config.ConnectionWriteTimeout, "> 0, 0 for default")
	}
	windowOK := func(w uint32) bool { return w == 0 || (w >= initialWindow && w <= maxStreamWindowLimit) }
	initial, maxWin := config.InitialStreamWindowSize, config.MaxStreamWindowSize
	switch {
	case !windowOK(initial):
		bad("InitialStreamWindowSize", initial, fmt.Sprintf("%d..%d", initialWindow, maxStreamWindowLimit))
	case initial != 0 && maxWin != 0 && windowOK(maxWin) && initial > maxWin:
		bad("InitialStreamWindowSize", initial, "<= MaxStreamWindowSize")
	}
	if !windowOK(maxWin) {
		bad("MaxStreamWindowSize", maxWin, fmt.Sprintf("%d..%d", initialWindow, maxStreamWindowLimit))
	}
	if config.MaxSessionReceiveBuffer < 0 {
		bad("MaxSessionReceiveBuffer", config.MaxSessionReceiveBuffer, ">= 0, 0 for default")
	}
	if m := config.MaxMessageSize; m != 0 && (m < minMessageSize || m > maxMessageSizeLimit) {
		bad("MaxMessageSize", m, fmt.Sprintf("%d..%d", minMessageSize, maxMessageSizeLimit))
	}
	if config.StreamOpenTimeout < 0 {
		bad("StreamOpenTimeout", config.StreamOpenTimeout, "> 0, 0 for default")
	}
	if config.StreamCloseTimeout < 0 {
		bad("StreamCloseTimeout", config.StreamCloseTimeout, "> 0, 0 for default")
	}
	if config.GoAwayDrainTimeout < 0 {
		bad("GoAwayDrainTimeout", config.GoAwayDrainTimeout, "> 0, 0 for default")
	}
	return errors.Join(errs...)
}

// withDefaults returns a copy of c with zero fields filled in; the caller's
// struct is never modified.
func withDefaults(c *Config) Config {
	d := DefaultConfig()
	if c == nil {
		return *d
	}
	out := *c
	setDefault(&out.AcceptBacklog, d.AcceptBacklog)
	setDefault(&out.MaxIncomingStreams, d.MaxIncomingStreams)
	setDefault(&out.KeepAliveInterval, d.KeepAliveInterval)
	setDefault(&out.KeepAliveTimeout, d.KeepAliveTimeout)
	setDefault(&out.ConnectionWriteTimeout, d.ConnectionWriteTimeout)
	setDefault(&out.InitialStreamWindowSize, d.InitialStreamWindowSize)
	setDefault(&out.MaxStreamWindowSize, d.MaxStreamWindowSize)
	if out.MaxStreamWindowSize < out.InitialStreamWindowSize {
		out.MaxStreamWindowSize = out.InitialStreamWindowSize
	}
	setDefault(&out.MaxSessionReceiveBuffer, d.MaxSessionReceiveBuffer)
	setDefault(&out.MaxMessageSize, d.MaxMessageSize)
	setDefault(&out.StreamOpenTimeout, d.StreamOpenTimeout)
	setDefault(&out.StreamCloseTimeout, d.StreamCloseTimeout)
	setDefault(&out.GoAwayDrainTimeout, d.GoAwayDrainTimeout)
	return out
}

func setDefault[T comparable](field *T, def T) {
	var zero T
	if *field == zero {
		*field = def
	}
}
