package main

import (
	"encoding/json"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPerfInProcessSummary runs `yamux perf` with no address, secured and
// --insecure, as a user would, and reads the summary table.
func TestPerfInProcessSummary(t *testing.T) {
	for _, tc := range []struct {
		name, flag, stack, security string
	}{
		{"secured", "", `TCP \+ Noise \+ Yamux \(muxer agreed inside Noise\)`, `noise \d+\.\d{3} ms`},
		{"insecure", "--insecure", `TCP \+ Yamux \(no security\)`, "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"perf", "--streams", "3", "--bytes", "8MiB"}
			if tc.flag != "" {
				args = append(args, tc.flag)
			}
			r := runYamux(t, 60*time.Second, args...)
			r.wantCode(t, exitOK, args...)
			if r.stderr != "" {
				t.Errorf("stderr %q, want nothing", r.stderr)
			}
			out := r.stdout
			for _, re := range []string{
				`(?m)^Connected to /ip4/127\.0\.0\.1/tcp/\d+(/p2p/12D3KooW\w+)? \(in-process server\), ` + tc.stack + `$`,
				`(?m)^\[ ID\] Direction +Time +Transfer +Bitrate$`,
				`(?m)^\[SUM\] upload +\d+\.\d\d sec +24\.00 MiB +\d+\.\d\d [KMG]?bit/s$`,
				`(?m)^\[SUM\] download +\d+\.\d\d sec +24\.00 MiB +\d+\.\d\d [KMG]?bit/s$`,
				`(?m)^Fairness +upload +slowest stream .*, min/max (0\.\d\d|1\.00)$`,
				`(?m)^Setup +TCP \d+\.\d{3} ms, security ` + tc.security + `, muxer \d+\.\d{3} ms, total \d+\.\d{3} ms$`,
				`(?m)^RTT +Yamux ping idle \d+\.\d{3} ms`,
				`(?m)^Verified +every byte against the pattern: upload 24\.00 MiB \(by the server\), download 24\.00 MiB$`,
				`(?m)^CPU +\d+\.\d\d s user \+ \d+\.\d\d s system, \d+\.\d{3} ms per MiB moved \(client and server\)$`,
			} {
				if !regexp.MustCompile(re).MatchString(out) {
					t.Errorf("summary lacks a line matching %s:\n%s", re, out)
				}
			}
			for _, dir := range []string{"upload", "download"} {
				re := regexp.MustCompile(`(?m)^\[  [123]\] ` + dir + ` +\d+\.\d\d sec +8\.00 MiB `)
				if n := len(re.FindAllString(out, -1)); n != 3 {
					t.Errorf("%d per-stream %s rows of 8.00 MiB, want 3:\n%s", n, dir, out)
				}
			}
		})
	}
}

// The documented --json fields (README "perf --json"); the test fails when
// the output and this list part ways.
var (
	intervalFields = []string{"type", "start", "end", "upload_bytes", "download_bytes", "upload_bps",
		"download_bps", "streams_done", "streams", "rtt_ms"}
	summaryFields = []string{"type", "target", "in_process", "stack", "security", "mode", "streams", "seconds",
		"setup", "upload", "download", "per_stream", "rtt", "verified", "cpu"}
	setupFields     = []string{"tcp_ms", "security_ms", "muxer_ms", "total_ms"}
	directionFields = []string{"bytes", "seconds", "bps", "min_stream_bps", "max_stream_bps", "fairness"}
	streamFields    = []string{"id", "stream_id", "upload_bytes", "upload_seconds", "upload_bps", "download_bytes",
		"download_seconds", "download_bps", "download_cut"}
	rttFields      = []string{"idle_ms", "load_min_ms", "load_avg_ms", "load_max_ms", "load_samples"}
	verifiedFields = []string{"upload_bytes", "download_bytes", "content"}
	cpuFields      = []string{"user_s", "system_s", "ms_per_mib", "scope"}
)

// wantFields fails unless obj has exactly the fields named.
func wantFields(t *testing.T, what string, obj map[string]any, fields []string) {
	t.Helper()
	got := slices.Sorted(maps.Keys(obj))
	want := slices.Sorted(slices.Values(fields))
	if !slices.Equal(got, want) {
		t.Errorf("%s fields %v, want %v", what, got, want)
	}
}

func object(t *testing.T, what string, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s is %T, want an object", what, v)
	}
	return m
}

// TestPerfJSONSchema: --json prints only JSON objects, one per line:
// intervals, then one summary, all with the documented fields, and the
// numbers add up.
func TestPerfJSONSchema(t *testing.T) {
	args := []string{"perf", "--insecure", "--json", "--streams", "2", "--duration", "600ms", "--interval", "100ms"}
	r := runYamux(t, 60*time.Second, args...)
	r.wantCode(t, exitOK, args...)
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	if len(lines) < 3 {
		t.Fatalf("%d lines, want several intervals and a summary:\n%s", len(lines), r.stdout)
	}
	var upSum, downSum float64
	prevEnd := 0.0
	for i, l := range lines[:len(lines)-1] {
		var iv map[string]any
		if err := json.Unmarshal([]byte(l), &iv); err != nil {
			t.Fatalf("line %d %q: %v", i+1, l, err)
		}
		wantFields(t, "interval", iv, intervalFields)
		if iv["type"] != "interval" || iv["streams"] != 2.0 {
			t.Errorf("line %d: %v, want an interval of 2 streams", i+1, iv)
		}
		if iv["start"] != prevEnd || iv["end"].(float64) <= prevEnd {
			t.Errorf("line %d: interval %v-%v does not follow %v", i+1, iv["start"], iv["end"], prevEnd)
		}
		prevEnd = iv["end"].(float64)
		upSum += iv["upload_bytes"].(float64)
		downSum += iv["download_bytes"].(float64)
	}
	var sum map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil {
		t.Fatalf("last line %q: %v", lines[len(lines)-1], err)
	}
	wantFields(t, "summary", sum, summaryFields)
	if sum["type"] != "summary" || sum["mode"] != "both" || sum["security"] != "none" || sum["in_process"] != true {
		t.Errorf("summary %v: want type summary, mode both, security none, in process", sum)
	}
	wantFields(t, "setup", object(t, "setup", sum["setup"]), setupFields)
	wantFields(t, "rtt", object(t, "rtt", sum["rtt"]), rttFields)
	wantFields(t, "cpu", object(t, "cpu", sum["cpu"]), cpuFields)
	verified := object(t, "verified", sum["verified"])
	wantFields(t, "verified", verified, verifiedFields)
	up, down := object(t, "upload", sum["upload"]), object(t, "download", sum["download"])
	wantFields(t, "upload", up, directionFields)
	wantFields(t, "download", down, directionFields)
	if up["bytes"] != upSum || down["bytes"] != downSum {
		t.Errorf("summary bytes up %v down %v, intervals add up to %v and %v", up["bytes"], down["bytes"], upSum, downSum)
	}
	if up["bytes"].(float64) == 0 || down["bytes"].(float64) == 0 {
		t.Errorf("nothing moved: up %v down %v", up["bytes"], down["bytes"])
	}
	if verified["upload_bytes"] != up["bytes"] || verified["download_bytes"] != down["bytes"] || verified["content"] != true {
		t.Errorf("verified %v, want every byte of both directions (%v, %v)", verified, up["bytes"], down["bytes"])
	}
	perStream, ok := sum["per_stream"].([]any)
	if !ok || len(perStream) != 2 {
		t.Fatalf("per_stream %v, want 2 entries", sum["per_stream"])
	}
	for i, s := range perStream {
		st := object(t, "per_stream entry", s)
		wantFields(t, "per_stream entry", st, streamFields)
		if st["id"] != float64(i+1) || st["download_cut"] != true {
			t.Errorf("stream %v: want id %d, download cut at the time limit (duration mode)", st, i+1)
		}
	}
}

// TestPerfInterrupted: SIGINT stops a long run early; what was measured is
// still summarised, and the exit code says the run did not complete.
func TestPerfInterrupted(t *testing.T) {
	p := startYamux(t, "perf", "--insecure", "--duration", "60s", "--interval", "100ms")
	for {
		if l := p.line(30 * time.Second); strings.HasPrefix(l, "[SUM]") {
			break
		}
	}
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	var rest []string
	for l := range p.lines {
		rest = append(rest, l)
	}
	if code := p.wait(30 * time.Second); code != exitFailure {
		t.Errorf("exit code %d, want %d", code, exitFailure)
	}
	out := strings.Join(rest, "\n")
	if !strings.Contains(out, "[SUM] upload") || !strings.Contains(out, "Verified") {
		t.Errorf("no summary after the interrupt:\n%s", out)
	}
	wantOneErrorLine(t, p.stderr.String(), "yamux perf: interrupted after ")
}
