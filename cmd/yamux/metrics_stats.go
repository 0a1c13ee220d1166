package main

import (
	"maps"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/yamuxgo/yamux"
)

// sessionTotals adds up yamux.SessionStats counters. The collector sums
// the live sessions' Stats at scrape time and keeps the final Stats of the
// closed ones here, so every exported counter only ever grows.
type sessionTotals struct {
	bytesSent, bytesReceived           uint64
	framesSent, framesReceived         uint64
	streamsOpened, streamsInbound      uint64
	streamsRefused                     uint64
	resetLocal, resetRemote            uint64
	pingsSent, pingsReceived           uint64
	protocolErrors, streamProtocolErrs uint64
	windowGranted                      uint64
	goAwaySent, goAwayReceived         map[string]uint64 // by goAwayCodeLabel
}

func (t *sessionTotals) add(s yamux.SessionStats) {
	t.bytesSent += s.BytesSent
	t.bytesReceived += s.BytesReceived
	t.framesSent += s.FramesSent
	t.framesReceived += s.FramesReceived
	t.streamsOpened += s.StreamsOpened
	t.streamsInbound += s.StreamsInbound
	t.streamsRefused += s.StreamsRefused
	t.resetLocal += s.StreamsResetLocal
	t.resetRemote += s.StreamsResetRemote
	t.pingsSent += s.PingsSent
	t.pingsReceived += s.PingsReceived
	t.protocolErrors += s.ProtocolErrors
	t.streamProtocolErrs += s.StreamProtocolErrors
	t.windowGranted += s.RecvWindowGranted
	t.goAwaySent = addCounts(t.goAwaySent, s.GoAwaySent)
	t.goAwayReceived = addCounts(t.goAwayReceived, s.GoAwayReceived)
}

// addCounts adds a session's GO_AWAY counts by code to dst, by label.
func addCounts(dst map[string]uint64, src map[yamux.ErrorCode]uint64) map[string]uint64 {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = map[string]uint64{}
	}
	for code, n := range src {
		dst[goAwayCodeLabel(code)] += n
	}
	return dst
}

// goAwayCodeLabel is the code label of yamux_goaway_total: the codes the
// spec names, and "other" for the rest. A peer chooses any of 2^32 codes;
// one label per code gave a client that sent a new one per connection a
// new series per connection, kept for as long as serve ran (24,000
// connections: 24,000 series, a 1.5 MB scrape).
func goAwayCodeLabel(code yamux.ErrorCode) string {
	switch code {
	case yamux.CodeNormal, yamux.CodeProtocolError, yamux.CodeInternalError:
		return code.String()
	}
	return "other"
}

// statsCollector exports the core's Session.Stats, summed over the
// connections serve has had. It keeps its own set of live sessions, fed by
// the host's Connected and Disconnected events, so that a session moves
// from live to retired in one step and no scrape counts it twice or not at
// all.
type statsCollector struct {
	mu      sync.Mutex
	live    map[*yamux.Session]struct{} // guarded by mu
	retired sessionTotals               // closed sessions; guarded by mu

	bytes, frames, streams, resets, pings, goAways *prometheus.Desc
	protoErrs, streamProtoErrs, window             *prometheus.Desc
	queueBytes, queueFrames                        *prometheus.Desc
}

func newStatsCollector() *statsCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &statsCollector{
		live:            map[*yamux.Session]struct{}{},
		bytes:           d("yamux_bytes_total", "Bytes of Yamux frames, headers included, by direction (sent, received).", "direction"),
		frames:          d("yamux_frames_total", "Yamux frames, by direction (sent, received).", "direction"),
		streams:         d("yamux_streams_total", "Streams opened, by who opened them (local, remote), and remote SYNs refused (refused).", "origin"),
		resets:          d("yamux_stream_resets_total", "Streams reset, by who reset them (local, remote).", "side"),
		pings:           d("yamux_pings_total", "Yamux PINGs, by direction (sent: ours, received: the peer's).", "direction"),
		goAways:         d("yamux_goaway_total", "GO_AWAY frames, by direction (sent, received) and code (normal, protocol error, internal error, other).", "direction", "code"),
		protoErrs:       d("yamux_protocol_errors_total", "Sessions ended because the peer violated the Yamux protocol."),
		streamProtoErrs: d("yamux_stream_protocol_errors_total", "Peer violations that only reset a stream (DATA after FIN)."),
		window:          d("yamux_recv_window_granted_bytes_total", "Receive-window credit granted to peers: initial windows and every update."),
		queueBytes:      d("yamux_send_queue_bytes", "Bytes waiting in the send queues now."),
		queueFrames:     d("yamux_send_queue_frames", "Control frames waiting in the send queues now."),
	}
}

// add counts a new session as live.
func (c *statsCollector) add(s *yamux.Session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.live[s] = struct{}{}
}

// retire keeps the final counts of a closed session and forgets it as
// live, in the same critical section as Collect reads both.
func (c *statsCollector) retire(s *yamux.Session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.retired.add(s.Stats())
	delete(c.live, s)
}

// sessions returns the live sessions.
func (c *statsCollector) sessions() []*yamux.Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.liveLocked()
}

func (c *statsCollector) liveLocked() []*yamux.Session {
	out := make([]*yamux.Session, 0, len(c.live))
	for s := range c.live {
		out = append(out, s)
	}
	return out
}

// Describe implements prometheus.Collector.
func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.bytes, c.frames, c.streams, c.resets, c.pings, c.goAways,
		c.protoErrs, c.streamProtoErrs, c.window, c.queueBytes, c.queueFrames} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	t := c.retired
	t.goAwaySent = maps.Clone(c.retired.goAwaySent)
	t.goAwayReceived = maps.Clone(c.retired.goAwayReceived)
	live := c.liveLocked()
	c.mu.Unlock()
	queueBytes, queueFrames := 0, 0
	for _, s := range live {
		st := s.Stats()
		t.add(st)
		queueBytes += st.SendQueueBytes
		queueFrames += st.SendQueueFrames
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(c.bytes, t.bytesSent, "sent")
	counter(c.bytes, t.bytesReceived, "received")
	counter(c.frames, t.framesSent, "sent")
	counter(c.frames, t.framesReceived, "received")
	counter(c.streams, t.streamsOpened, "local")
	counter(c.streams, t.streamsInbound, "remote")
	counter(c.streams, t.streamsRefused, "refused")
	counter(c.resets, t.resetLocal, "local")
	counter(c.resets, t.resetRemote, "remote")
	counter(c.pings, t.pingsSent, "sent")
	counter(c.pings, t.pingsReceived, "received")
	for code, n := range t.goAwaySent {
		counter(c.goAways, n, "sent", code)
	}
	for code, n := range t.goAwayReceived {
		counter(c.goAways, n, "received", code)
	}
	counter(c.protoErrs, t.protocolErrors)
	counter(c.streamProtoErrs, t.streamProtocolErrs)
	counter(c.window, t.windowGranted)
	ch <- prometheus.MustNewConstMetric(c.queueBytes, prometheus.GaugeValue, float64(queueBytes))
	ch <- prometheus.MustNewConstMetric(c.queueFrames, prometheus.GaugeValue, float64(queueFrames))
}
