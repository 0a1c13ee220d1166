package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"

	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/host"
)

// metrics is serve's Prometheus collector. The Yamux counters come from the
// core's Session.Stats (statsCollector); gauges about live connections are
// read from the sessions at scrape time; connection and per-protocol stream
// counts follow the host's Notify events; transport bytes (TCP, Noise
// framing included) are counted on the TCP connection (host.Options.WrapConn).
type metrics struct {
	connsTotal     prometheus.Counter
	streamsTotal   *prometheus.CounterVec
	negotiateFails prometheus.Counter
	connErrors     *prometheus.CounterVec
	stats          *statsCollector

	bytesIn, bytesOut atomic.Uint64

	descConns     *prometheus.Desc
	descStreams   *prometheus.Desc
	descRTT       *prometheus.Desc
	descBytes     *prometheus.Desc
	descPerfBytes *prometheus.Desc
	perf          *perfServer
	reg           *prometheus.Registry
	httpSrv       *http.Server
	httpLn        net.Listener
	httpDone      chan struct{}
}

func newMetrics(perfSrv *perfServer) *metrics {
	m := &metrics{
		perf: perfSrv,
		connsTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "yamux_connections_total", Help: "Connections accepted and set up (TCP, security, muxer).",
		}),
		streamsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yamux_streams_opened_total", Help: "Inbound streams whose protocol was negotiated, by protocol.",
		}, []string{"protocol"}),
		negotiateFails: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "yamux_stream_negotiation_failures_total", Help: "Inbound streams reset because multistream-select failed or the protocol is not served.",
		}),
		connErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "yamux_connection_closes_total", Help: "Connections ended, by who ended them (local or remote) and why (normal, goaway, protocol_error, timeout, error).",
		}, []string{"side", "reason"}),
		descConns:     prometheus.NewDesc("yamux_connections", "Connections open now.", nil, nil),
		descStreams:   prometheus.NewDesc("yamux_streams", "Streams open now, over all connections.", nil, nil),
		descRTT:       prometheus.NewDesc("yamux_rtt_seconds", "Last measured Yamux ping round-trip time over the open connections: min, avg and max.", []string{"stat"}, nil),
		stats:         newStatsCollector(),
		descBytes:     prometheus.NewDesc("yamux_transport_bytes_total", "Bytes on the TCP connections, Noise framing included, by direction (in, out).", []string{"direction"}, nil),
		descPerfBytes: prometheus.NewDesc("yamux_perf_bytes_total", "Perf protocol payload, by direction from the client's view (upload, download).", []string{"direction"}, nil),
	}
	m.reg = prometheus.NewRegistry()
	m.reg.MustRegister(m, m.stats, m.connsTotal, m.streamsTotal, m.negotiateFails, m.connErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Describe implements prometheus.Collector for the scrape-time metrics.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.descConns, m.descStreams, m.descRTT, m.descBytes, m.descPerfBytes} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: it reads the live sessions.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	sessions := m.stats.sessions()
	streams := 0
	var rtts []time.Duration
	for _, s := range sessions {
		streams += s.NumStreams()
		if rtt := s.RTT(); rtt > 0 {
			rtts = append(rtts, rtt)
		}
	}
	ch <- prometheus.MustNewConstMetric(m.descConns, prometheus.GaugeValue, float64(len(sessions)))
	ch <- prometheus.MustNewConstMetric(m.descStreams, prometheus.GaugeValue, float64(streams))
	if len(rtts) > 0 {
		lo, hi := minMax(rtts)
		for stat, v := range map[string]time.Duration{"min": lo, "avg": mean(rtts), "max": hi} {
			ch <- prometheus.MustNewConstMetric(m.descRTT, prometheus.GaugeValue, v.Seconds(), stat)
		}
	}
	ch <- prometheus.MustNewConstMetric(m.descBytes, prometheus.CounterValue, float64(m.bytesIn.Load()), "in")
	ch <- prometheus.MustNewConstMetric(m.descBytes, prometheus.CounterValue, float64(m.bytesOut.Load()), "out")
	ch <- prometheus.MustNewConstMetric(m.descPerfBytes, prometheus.CounterValue, float64(m.perf.counters.Uploaded.Load()), "upload")
	ch <- prometheus.MustNewConstMetric(m.descPerfBytes, prometheus.CounterValue, float64(m.perf.counters.Downloaded.Load()), "download")
}

// The hooks below are called from the host's Options (WrapConn, Notify).

func (m *metrics) wrapConn(c net.Conn) net.Conn {
	return &countingConn{Conn: c, in: &m.bytesIn, out: &m.bytesOut}
}

func (m *metrics) connected(c *host.Conn) {
	m.connsTotal.Inc()
	m.stats.add(c.Session())
}

func (m *metrics) stream(protocol string) { m.streamsTotal.WithLabelValues(protocol).Inc() }

func (m *metrics) streamFailed() { m.negotiateFails.Inc() }

// disconnected moves the session's final counts aside and counts why it
// ended.
func (m *metrics) disconnected(c *host.Conn) {
	m.stats.retire(c.Session())
	err := c.Err()
	var se *yamux.SessionError
	side, reason := "local", "normal"
	if errors.As(err, &se) {
		if se.Remote {
			side = "remote"
		}
		switch {
		case errors.Is(err, yamux.ErrProtocol):
			reason = "protocol_error"
		case errors.Is(err, yamux.ErrRemoteGoAway):
			reason = "goaway"
		case se.Timeout():
			reason = "timeout"
		case se.Cause != nil:
			reason = "error"
		}
	}
	m.connErrors.WithLabelValues(side, reason).Inc()
}

// serve starts the /metrics endpoint on addr.
func (m *metrics) serve(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics listener on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	m.httpLn = ln
	m.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	m.httpDone = make(chan struct{})
	go func() {
		defer close(m.httpDone)
		m.httpSrv.Serve(ln)
	}()
	return nil
}

// addr is the metrics listener's address.
func (m *metrics) addr() string { return m.httpLn.Addr().String() }

// close stops the endpoint and waits for it.
func (m *metrics) close() {
	if m.httpSrv != nil {
		m.httpSrv.Close()
		<-m.httpDone
	}
}

// countingConn counts the bytes a connection carries.
type countingConn struct {
	net.Conn
	in, out *atomic.Uint64
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.in.Add(uint64(n))
	return n, err
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.out.Add(uint64(n))
	return n, err
}

// ReadInterruptible reports whether a Read of the conn under it that a
// past read deadline interrupts loses nothing (yamux.InterruptibleReader):
// the count only adds what that Read returned. Without it, every session
// of serve --metrics lost the direct read path (spec.md §4.4).
func (c *countingConn) ReadInterruptible() bool {
	switch inner := c.Conn.(type) {
	case *net.TCPConn, *net.UnixConn:
		return true
	case interface{ ReadInterruptible() bool }:
		return inner.ReadInterruptible()
	}
	return false
}

// CloseWrite passes a half-close through to the TCP conn.
func (c *countingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}
