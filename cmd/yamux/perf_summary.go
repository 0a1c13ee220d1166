package main

import (
	"math"
	"time"
)

// perfSummary is the final report of a perf run. Its JSON form is the
// --json summary object (the README documents the fields).
type perfSummary struct {
	Type       string  `json:"type"` // always "summary"
	Target     string  `json:"target"`
	InProcess  bool    `json:"in_process"`
	Stack      string  `json:"stack"`
	Security   string  `json:"security"`
	RemotePeer string  `json:"remote_peer,omitempty"`
	Mode       string  `json:"mode"`
	Streams    int     `json:"streams"`
	Seconds    float64 `json:"seconds"`

	Setup     setupReport     `json:"setup"`
	Upload    *directionStats `json:"upload,omitempty"`
	Download  *directionStats `json:"download,omitempty"`
	PerStream []streamReport  `json:"per_stream"`
	RTT       rttReport       `json:"rtt"`
	Verified  verifiedReport  `json:"verified"`
	CPU       *cpuReport      `json:"cpu,omitempty"`
	Errors    []string        `json:"errors,omitempty"`

	// Elapsed is the transfer's wall time.
	Elapsed time.Duration `json:"-"`
}

type setupReport struct {
	TCPMillis      float64 `json:"tcp_ms"`
	SecurityMillis float64 `json:"security_ms"`
	MuxerMillis    float64 `json:"muxer_ms"`
	TotalMillis    float64 `json:"total_ms"`
}

// directionStats aggregates one direction over all streams.
type directionStats struct {
	Bytes   uint64  `json:"bytes"`
	Seconds float64 `json:"seconds"`
	BPS     float64 `json:"bps"`
	// MinStreamBPS and MaxStreamBPS are the slowest and fastest stream;
	// Fairness is their ratio (1: all streams equal).
	MinStreamBPS float64 `json:"min_stream_bps"`
	MaxStreamBPS float64 `json:"max_stream_bps"`
	Fairness     float64 `json:"fairness"`
}

type streamReport struct {
	ID              int     `json:"id"`
	StreamID        uint32  `json:"stream_id"`
	UploadBytes     uint64  `json:"upload_bytes"`
	UploadSeconds   float64 `json:"upload_seconds"`
	UploadBPS       float64 `json:"upload_bps"`
	DownloadBytes   uint64  `json:"download_bytes"`
	DownloadSeconds float64 `json:"download_seconds"`
	DownloadBPS     float64 `json:"download_bps"`
	// DownloadCut is true when the download ran for a time and was ended
	// by a reset (duration mode).
	DownloadCut bool   `json:"download_cut"`
	Error       string `json:"error,omitempty"`
}

type rttReport struct {
	IdleMillis   float64 `json:"idle_ms"`
	LoadMinMilli float64 `json:"load_min_ms"`
	LoadAvgMilli float64 `json:"load_avg_ms"`
	LoadMaxMilli float64 `json:"load_max_ms"`
	LoadSamples  int     `json:"load_samples"`

	idle, load []time.Duration
}

// verifiedReport says what was checked: every byte's content against the
// pattern (Content true, both ends ours) or only the download's count.
type verifiedReport struct {
	UploadBytes   uint64 `json:"upload_bytes"`
	DownloadBytes uint64 `json:"download_bytes"`
	Content       bool   `json:"content"`
}

type cpuReport struct {
	UserSeconds   float64 `json:"user_s"`
	SystemSeconds float64 `json:"system_s"`
	MillisPerMiB  float64 `json:"ms_per_mib"`
	// Scope is "client and server" in process, "client" otherwise.
	Scope string `json:"scope"`
}

func newSummary(o *perfOptions, t *perfTarget) *perfSummary {
	return &perfSummary{
		Type:       "summary",
		Target:     t.addr,
		InProcess:  t.inProcess,
		Stack:      t.stack,
		Security:   t.security,
		RemotePeer: t.remotePeer,
		Mode:       o.mode(),
		Streams:    o.streams,
		Setup: setupReport{
			TCPMillis:      millis(t.setup.TCP),
			SecurityMillis: millis(t.setup.Security),
			MuxerMillis:    millis(t.setup.Muxer),
			TotalMillis:    millis(t.setup.TCP + t.setup.Security + t.setup.Muxer),
		},
		Verified: verifiedReport{Content: t.verifyContent},
	}
}

// fill computes the aggregates from the finished streams.
func (s *perfSummary) fill(runs []*streamRun, start, end time.Time) {
	s.Elapsed = end.Sub(start)
	s.Seconds = s.Elapsed.Seconds()
	var up, down phase
	for _, r := range runs {
		sr := streamReport{ID: r.id, StreamID: r.streamID, DownloadCut: r.res.Cut}
		if r.err != nil {
			sr.Error = oneLine(r.err)
			s.Errors = append(s.Errors, sr.Error)
		}
		res := r.res
		if !res.Responded.IsZero() {
			sr.UploadBytes = res.Uploaded
			sr.UploadSeconds = res.UploadTime().Seconds()
			sr.UploadBPS = rate(res.Uploaded, res.UploadTime())
			up.add(res.Start, res.Responded, res.Uploaded, sr.UploadBPS)
		}
		if !res.End.IsZero() && !res.Responded.IsZero() {
			sr.DownloadBytes = res.Downloaded
			sr.DownloadSeconds = res.DownloadTime().Seconds()
			sr.DownloadBPS = rate(res.Downloaded, res.DownloadTime())
			down.add(res.Responded, res.End, res.Downloaded, sr.DownloadBPS)
		}
		s.Verified.DownloadBytes += res.Verified
		s.PerStream = append(s.PerStream, sr)
	}
	if s.Mode != "download" {
		s.Upload = up.stats()
	}
	if s.Mode != "upload" {
		s.Download = down.stats()
	}
	s.RTT.IdleMillis = millis(mean(s.RTT.idle))
	if n := len(s.RTT.load); n > 0 {
		lo, hi := minMax(s.RTT.load)
		s.RTT.LoadMinMilli, s.RTT.LoadAvgMilli, s.RTT.LoadMaxMilli = millis(lo), millis(mean(s.RTT.load)), millis(hi)
		s.RTT.LoadSamples = n
	}
}

// addServerCounts adds what the in-process server verified.
func (s *perfSummary) addServerCounts(srv *perfServer) {
	s.Verified.UploadBytes = srv.verified.Load()
}

func (s *perfSummary) setCPU(user, system time.Duration) {
	c := &cpuReport{UserSeconds: user.Seconds(), SystemSeconds: system.Seconds(), Scope: "client"}
	if s.InProcess {
		c.Scope = "client and server"
	}
	var moved uint64
	for _, d := range []*directionStats{s.Upload, s.Download} {
		if d != nil {
			moved += d.Bytes
		}
	}
	if moved > 0 {
		c.MillisPerMiB = millis(user+system) / (float64(moved) / (1 << 20))
	}
	s.CPU = c
}

// phase collects one direction's spans and rates over the streams.
type phase struct {
	first, last time.Time
	bytes       uint64
	rates       []float64
}

func (p *phase) add(from, to time.Time, n uint64, bps float64) {
	if p.first.IsZero() || from.Before(p.first) {
		p.first = from
	}
	if to.After(p.last) {
		p.last = to
	}
	p.bytes += n
	p.rates = append(p.rates, bps)
}

func (p *phase) stats() *directionStats {
	d := &directionStats{Bytes: p.bytes}
	if len(p.rates) == 0 {
		return d
	}
	span := p.last.Sub(p.first)
	d.Seconds = span.Seconds()
	d.BPS = rate(p.bytes, span)
	d.MinStreamBPS, d.MaxStreamBPS = math.Inf(1), 0
	for _, r := range p.rates {
		d.MinStreamBPS = math.Min(d.MinStreamBPS, r)
		d.MaxStreamBPS = math.Max(d.MaxStreamBPS, r)
	}
	if d.MaxStreamBPS > 0 {
		d.Fairness = d.MinStreamBPS / d.MaxStreamBPS
	}
	return d
}

func mean(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

func minMax(ds []time.Duration) (lo, hi time.Duration) {
	lo, hi = ds[0], ds[0]
	for _, d := range ds[1:] {
		lo, hi = min(lo, d), max(hi, d)
	}
	return lo, hi
}
