package yamux

import (
	"sync"
	"sync/atomic"
	"time"
)

// SessionStats is a snapshot of a session's counters, returned by
// Session.Stats (in the manner of sql.DB.Stats). Counters count from the
// session's start; gauges (the fields saying "now") are current values.
// A snapshot is not atomic as a whole: each field is read on its own.
type SessionStats struct {
	// StreamsOpen is the number of live streams now (NumStreams).
	StreamsOpen int
	// StreamsOpened counts streams we opened (OpenStream succeeded).
	StreamsOpened uint64
	// StreamsInbound counts streams the peer opened that we took in
	// (queued for AcceptStream); StreamsAccepted counts those the
	// application accepted.
	StreamsInbound  uint64
	StreamsAccepted uint64
	// StreamsRefused counts the peer's SYNs we answered with RST
	// (backlog or MaxIncomingStreams full, or after a GO_AWAY).
	StreamsRefused uint64
	// StreamsResetLocal counts streams we reset (Reset, a timeout, DATA
	// after FIN); StreamsResetRemote counts streams the peer reset.
	StreamsResetLocal  uint64
	StreamsResetRemote uint64

	// BytesSent and BytesReceived count bytes written to and read from
	// the connection, frame headers included.
	BytesSent     uint64
	BytesReceived uint64
	// FramesSent and FramesReceived count frames written and read.
	FramesSent     uint64
	FramesReceived uint64
	// FramesReadByStreams counts the frames of FramesReceived that a
	// stream's Read read from the connection itself rather than the
	// session's receive loop (spec.md §4.4): the frames whose data reached
	// its reader without a hand-off between goroutines.
	FramesReadByStreams uint64
	// TurnsYielded counts the times one of the session's goroutines that
	// move DATA (a stream's Read or Write, the receive loop) gave its P up
	// after a turn of 256 KiB, so that the goroutines queued behind it run
	// (spec.md §4.7). It happens only while several streams share a
	// direction of the connection; with one busy stream it stays 0.
	TurnsYielded uint64
	// ReadBufferGrows counts the times the session took its large read
	// buffer because the connection had more unread than the small one
	// holds (spec.md §4.8); it goes back to the small one as soon as a
	// read would find less. Only on Linux TCP and Unix sockets, the conns
	// that can be asked.
	ReadBufferGrows uint64

	// PingsSent counts our PINGs (Ping, keepalive and the RTT ping);
	// PingsReceived counts the peer's, each answered with a pong.
	PingsSent     uint64
	PingsReceived uint64
	// RTT is the last measured round-trip time, 0 if none yet.
	RTT time.Duration

	// GoAwaySent and GoAwayReceived count GO_AWAY frames by code; nil
	// when there were none.
	GoAwaySent     map[ErrorCode]uint64
	GoAwayReceived map[ErrorCode]uint64
	// ProtocolErrors counts violations by the peer that ended the session
	// (0 or 1); StreamProtocolErrors counts those that only reset a stream
	// (DATA after the peer's FIN).
	ProtocolErrors       uint64
	StreamProtocolErrors uint64
	// ReplyPauses counts the times the receive loop stopped reading
	// because the peer had more replies pending than a peer like us can
	// cause (spec.md §5.1); 0 against a well-behaved peer.
	ReplyPauses uint64

	// SendQueueFrames and SendQueueBytes are what waits in the send queue
	// now: control frames and FINs, and DATA bytes (headers included),
	// copied or waiting in their writers' buffers.
	SendQueueFrames int
	SendQueueBytes  int
	// RecvWindowGranted counts the receive-window credit granted to the
	// peer over all streams: the initial windows and every update.
	RecvWindowGranted uint64
}

// sessionStats are the counters behind SessionStats: atomics, so the hot
// paths (one add per frame) take no lock. GO_AWAY counts are rare and kept
// under their own mutex.
type sessionStats struct {
	streamsOpened, streamsInbound, streamsAccepted, streamsRefused atomic.Uint64
	resetLocal, resetRemote                                        atomic.Uint64
	bytesSent, bytesRecv, framesSent                               atomic.Uint64 // frames received: Session.framesRecv
	framesByStreams, turnsYielded, readBufferGrows                 atomic.Uint64
	pingsSent, pingsRecv                                           atomic.Uint64
	protocolErrors, streamProtocolErrors, replyPauses              atomic.Uint64
	windowGranted                                                  atomic.Uint64

	goAwayMu             sync.Mutex
	goAwaySent, goAwayIn map[ErrorCode]uint64
}

func (c *sessionStats) goAway(sent bool, code ErrorCode) {
	c.goAwayMu.Lock()
	defer c.goAwayMu.Unlock()
	m := &c.goAwayIn
	if sent {
		m = &c.goAwaySent
	}
	if *m == nil {
		*m = make(map[ErrorCode]uint64)
	}
	(*m)[code]++
}

// countSent accounts for one batch written to the conn.
func (c *sessionStats) countSent(bytes uint64, frames int) {
	c.bytesSent.Add(bytes)
	c.framesSent.Add(uint64(frames))
}

// Stats returns a snapshot of the session's counters. It is cheap enough
// to call often: it reads atomics and takes two short locks.
func (s *Session) Stats() SessionStats {
	c := &s.stats
	frames, bytes := s.send.depth()
	st := SessionStats{
		StreamsOpen:          s.NumStreams(),
		StreamsOpened:        c.streamsOpened.Load(),
		StreamsInbound:       c.streamsInbound.Load(),
		StreamsAccepted:      c.streamsAccepted.Load(),
		StreamsRefused:       c.streamsRefused.Load(),
		StreamsResetLocal:    c.resetLocal.Load(),
		StreamsResetRemote:   c.resetRemote.Load(),
		BytesSent:            c.bytesSent.Load(),
		BytesReceived:        c.bytesRecv.Load(),
		FramesSent:           c.framesSent.Load(),
		FramesReceived:       s.framesRecv.Load(),
		FramesReadByStreams:  c.framesByStreams.Load(),
		TurnsYielded:         c.turnsYielded.Load(),
		ReadBufferGrows:      c.readBufferGrows.Load(),
		PingsSent:            c.pingsSent.Load(),
		PingsReceived:        c.pingsRecv.Load(),
		RTT:                  s.RTT(),
		ProtocolErrors:       c.protocolErrors.Load(),
		StreamProtocolErrors: c.streamProtocolErrors.Load(),
		ReplyPauses:          c.replyPauses.Load(),
		SendQueueFrames:      frames,
		SendQueueBytes:       bytes,
		RecvWindowGranted:    c.windowGranted.Load(),
	}
	c.goAwayMu.Lock()
	st.GoAwaySent = copyCounts(c.goAwaySent)
	st.GoAwayReceived = copyCounts(c.goAwayIn)
	c.goAwayMu.Unlock()
	return st
}

func copyCounts(m map[ErrorCode]uint64) map[ErrorCode]uint64 {
	if m == nil {
		return nil
	}
	out := make(map[ErrorCode]uint64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
