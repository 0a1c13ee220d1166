package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// reporter prints a perf run: a header, one progress line (or JSON object)
// per interval, and the summary.
type reporter struct {
	out      io.Writer
	json     bool
	inPlace  bool // stdout is a terminal: progress lines overwrite each other
	interval time.Duration
	streams  int
	mode     string

	start   time.Time
	runs    []*streamRun
	lastRTT *atomic.Int64
	stop    chan struct{}
	wg      sync.WaitGroup

	// Owned by the ticking goroutine until end returns.
	prevUp, prevDown uint64
	prevT            time.Time
	printed          bool // an in-place line is on screen
}

// intervalReport is the --json object printed per interval.
type intervalReport struct {
	Type          string  `json:"type"` // always "interval"
	Start         float64 `json:"start"`
	End           float64 `json:"end"`
	UploadBytes   uint64  `json:"upload_bytes"`
	DownloadBytes uint64  `json:"download_bytes"`
	UploadBPS     float64 `json:"upload_bps"`
	DownloadBPS   float64 `json:"download_bps"`
	StreamsDone   int     `json:"streams_done"`
	Streams       int     `json:"streams"`
	RTTMillis     float64 `json:"rtt_ms"`
}

func newReporter(e *env, o *perfOptions) *reporter {
	return &reporter{
		out:      e.stdout,
		json:     o.json,
		inPlace:  e.stdoutTTY && !o.json,
		interval: o.interval,
		streams:  o.streams,
		mode:     o.mode(),
	}
}

// header prints what is about to be measured.
func (r *reporter) header(t *perfTarget) {
	if r.json {
		return
	}
	where := "remote server"
	if t.inProcess {
		where = "in-process server"
	}
	fmt.Fprintf(r.out, "Connected to %s (%s), %s\n", t.addr, where, t.stack)
	if t.remotePeer != "" {
		fmt.Fprintf(r.out, "Remote peer %s (authenticated by Noise)\n", t.remotePeer)
	}
	fmt.Fprintf(r.out, "%d streams, %s\n", r.streams, map[string]string{
		"both": "upload then download on each", "upload": "upload only", "download": "download only",
	}[r.mode])
}

// begin starts the progress reports of a transfer that started at start.
func (r *reporter) begin(start time.Time, runs []*streamRun, lastRTT *atomic.Int64) {
	r.start, r.prevT, r.runs, r.lastRTT = start, start, runs, lastRTT
	r.stop = make(chan struct{})
	r.wg.Go(func() {
		t := time.NewTicker(r.interval)
		defer t.Stop()
		for {
			select {
			case <-r.stop:
				return
			case now := <-t.C:
				r.tick(now)
			}
		}
	})
}

// end stops the progress reports, printing the last partial interval.
func (r *reporter) end(at time.Time) {
	close(r.stop)
	r.wg.Wait()
	// The last, partial interval: always when bytes moved in it, so that
	// the intervals add up to the summary; otherwise only if it is not a
	// sliver.
	if r.moved() != r.prevUp+r.prevDown || at.Sub(r.prevT) >= r.interval/10 {
		r.tick(at)
	}
	if r.printed {
		fmt.Fprint(r.out, "\r\x1b[K")
		r.printed = false
	}
}

// moved is the total of both directions' counters now.
func (r *reporter) moved() uint64 {
	var n uint64
	for _, s := range r.runs {
		n += s.counters.Uploaded.Load() + s.counters.Downloaded.Load()
	}
	return n
}

func (r *reporter) tick(now time.Time) {
	var up, down uint64
	done := 0
	for _, s := range r.runs {
		up += s.counters.Uploaded.Load()
		down += s.counters.Downloaded.Load()
		if s.done.Load() {
			done++
		}
	}
	d := now.Sub(r.prevT)
	iv := intervalReport{
		Type:          "interval",
		Start:         r.prevT.Sub(r.start).Seconds(),
		End:           now.Sub(r.start).Seconds(),
		UploadBytes:   up - r.prevUp,
		DownloadBytes: down - r.prevDown,
		UploadBPS:     rate(up-r.prevUp, d),
		DownloadBPS:   rate(down-r.prevDown, d),
		StreamsDone:   done,
		Streams:       r.streams,
		RTTMillis:     millis(time.Duration(r.lastRTT.Load())),
	}
	r.prevUp, r.prevDown, r.prevT = up, down, now
	if r.json {
		writeJSON(r.out, iv)
		return
	}
	line := fmt.Sprintf("[SUM] %6.2f-%-6.2f sec  up %11s %14s  down %11s %14s  done %d/%d  rtt %s",
		iv.Start, iv.End, formatBytes(float64(iv.UploadBytes)), formatBitrate(iv.UploadBPS),
		formatBytes(float64(iv.DownloadBytes)), formatBitrate(iv.DownloadBPS), iv.StreamsDone, iv.Streams,
		formatMillis(time.Duration(r.lastRTT.Load())))
	if r.inPlace {
		fmt.Fprint(r.out, "\r\x1b[K"+line)
		r.printed = true
		return
	}
	fmt.Fprintln(r.out, line)
}

// finish prints the summary.
func (r *reporter) finish(s *perfSummary) {
	if r.json {
		writeJSON(r.out, s)
		return
	}
	fmt.Fprint(r.out, renderSummary(s))
}

func writeJSON(w io.Writer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only plain numbers and strings are marshalled; a failure is a bug.
		panic(err)
	}
	w.Write(append(b, '\n'))
}

// renderSummary is the iperf3-like summary table.
func renderSummary(s *perfSummary) string {
	var b strings.Builder
	b.WriteString(strings.Repeat("- ", 40) + "\n")
	fmt.Fprintf(&b, "[ ID] %-9s %11s %13s %14s\n", "Direction", "Time", "Transfer", "Bitrate")
	row := func(id, dir string, secs float64, n uint64, bps float64, note string) {
		fmt.Fprintf(&b, "[%3s] %-9s %7.2f sec %13s %14s%s\n", id, dir, secs, formatBytes(float64(n)), formatBitrate(bps), note)
	}
	for _, p := range s.PerStream {
		id := fmt.Sprint(p.ID)
		if s.Upload != nil {
			row(id, "upload", p.UploadSeconds, p.UploadBytes, p.UploadBPS, "")
		}
		if s.Download != nil {
			note := ""
			if p.DownloadCut {
				note = "  (ended at the time limit)"
			}
			row(id, "download", p.DownloadSeconds, p.DownloadBytes, p.DownloadBPS, note)
		}
		if p.Error != "" {
			fmt.Fprintf(&b, "[%3s] failed: %s\n", id, p.Error)
		}
	}
	for _, d := range []struct {
		name string
		st   *directionStats
	}{{"upload", s.Upload}, {"download", s.Download}} {
		if d.st != nil {
			row("SUM", d.name, d.st.Seconds, d.st.Bytes, d.st.BPS, "")
		}
	}
	b.WriteString("\n")
	for _, d := range []struct {
		name string
		st   *directionStats
	}{{"upload", s.Upload}, {"download", s.Download}} {
		if d.st != nil && len(s.PerStream) > 1 {
			fmt.Fprintf(&b, "%-10s %-8s slowest stream %s, fastest %s, min/max %.2f\n", "Fairness", d.name,
				formatBitrate(d.st.MinStreamBPS), formatBitrate(d.st.MaxStreamBPS), d.st.Fairness)
		}
	}
	sec := "none"
	if s.Security != "none" {
		sec = fmt.Sprintf("%s %.3f ms", s.Security, s.Setup.SecurityMillis)
	}
	fmt.Fprintf(&b, "%-10s TCP %.3f ms, security %s, muxer %.3f ms, total %.3f ms\n", "Setup",
		s.Setup.TCPMillis, sec, s.Setup.MuxerMillis, s.Setup.TotalMillis)
	fmt.Fprintf(&b, "%-10s Yamux ping idle %.3f ms", "RTT", s.RTT.IdleMillis)
	if s.RTT.LoadSamples > 0 {
		fmt.Fprintf(&b, "; under load min/avg/max %.3f/%.3f/%.3f ms (%d pings)",
			s.RTT.LoadMinMilli, s.RTT.LoadAvgMilli, s.RTT.LoadMaxMilli, s.RTT.LoadSamples)
	}
	b.WriteString("\n")
	switch {
	case s.Verified.Content && s.InProcess:
		fmt.Fprintf(&b, "%-10s every byte against the pattern: upload %s (by the server), download %s\n", "Verified",
			formatBytes(float64(s.Verified.UploadBytes)), formatBytes(float64(s.Verified.DownloadBytes)))
	case s.Verified.Content:
		fmt.Fprintf(&b, "%-10s download %s, every byte against the pattern; upload unchecked (remote server)\n", "Verified",
			formatBytes(float64(s.Verified.DownloadBytes)))
	default:
		fmt.Fprintf(&b, "%-10s byte counts only (the server's content is its own)\n", "Verified")
	}
	if c := s.CPU; c != nil {
		fmt.Fprintf(&b, "%-10s %.2f s user + %.2f s system, %.3f ms per MiB moved (%s)\n", "CPU",
			c.UserSeconds, c.SystemSeconds, c.MillisPerMiB, c.Scope)
	}
	return b.String()
}
