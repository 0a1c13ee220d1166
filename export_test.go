package yamux

// Internal constants the black-box tests (package yamux_test) check
// against, so that they are not copied there. Keep this list short: a
// constant here is one the core may rename or remove.
const (
	// InitialWindow is the initial stream window (spec.md §4.1).
	InitialWindow = initialWindow
	// MaxAckBacklog is how many of our streams may await their ACK (§3.1).
	MaxAckBacklog = maxAckBacklog
	// MaxPendingPongs and MaxPendingResets bound the replies the receive
	// loop queues (spec.md §5.1).
	MaxPendingPongs  = maxPendingPongs
	MaxPendingResets = maxPendingResets
	// MaxUselessFrames is the run of frames that change nothing after which
	// the peer is in protocol error.
	MaxUselessFrames = maxUselessFrames
	// RingSize is the size of a session's send ring.
	RingSize = ringSize
)
