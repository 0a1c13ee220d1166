package main

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/yamuxgo/yamux/peer"
)

// startServe starts `yamux serve` with args and returns it with the address
// it printed.
func startServe(t *testing.T, args ...string) (*process, string) {
	t.Helper()
	p := startYamux(t, append([]string{"serve"}, args...)...)
	addr := p.line(30 * time.Second)
	if !regexp.MustCompile(`^/ip4/127\.0\.0\.1/tcp/\d+(/p2p/12D3KooW\w+)?$`).MatchString(addr) {
		t.Fatalf("serve printed %q, want its multiaddr", addr)
	}
	return p, addr
}

// stop sends SIGTERM and expects a clean exit.
func (p *process) stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	if code := p.wait(30 * time.Second); code != exitOK {
		p.t.Errorf("serve exited %d after SIGTERM, want 0; stderr:\n%s", code, p.stderr)
	}
}

var pingLine = regexp.MustCompile(`^32 bytes from 127\.0\.0\.1:\d+: ping_seq=(\d+) time=\d+\.\d{3} ms$`)

func TestServeAndPing(t *testing.T) {
	for _, insecure := range []bool{false, true} {
		name := map[bool]string{false: "secured", true: "insecure"}[insecure]
		t.Run(name, func(t *testing.T) {
			var flags []string
			if insecure {
				flags = []string{"--insecure"}
			}
			srv, addr := startServe(t, flags...)
			if insecure == strings.Contains(addr, "/p2p/") {
				t.Errorf("address %q: want /p2p/ exactly when secured", addr)
			}
			args := append([]string{"ping", addr, "-c", "3", "-i", "50ms"}, flags...)
			r := runYamux(t, 30*time.Second, args...)
			r.wantCode(t, exitOK, args...)
			lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
			if len(lines) != 8 || lines[0] != "PING "+addr+": 32 data bytes (/ipfs/ping/1.0.0)" {
				t.Fatalf("ping printed:\n%s\nwant a PING header, 3 replies and the statistics", r.stdout)
			}
			for i, l := range lines[1:4] {
				m := pingLine.FindStringSubmatch(l)
				if m == nil || m[1] != strconv.Itoa(i+1) {
					t.Errorf("reply line %q, want ping_seq=%d in ping(8) form", l, i+1)
				}
			}
			if lines[5] != "--- "+addr+" ping statistics ---" ||
				!regexp.MustCompile(`^3 pings transmitted, 3 received, 0% loss, time \d+ms$`).MatchString(lines[6]) {
				t.Errorf("statistics:\n%s", strings.Join(lines[5:], "\n"))
			}
			m := regexp.MustCompile(`^rtt min/avg/max/stddev = (\d+\.\d+)/(\d+\.\d+)/(\d+\.\d+)/(\d+\.\d+) ms$`).FindStringSubmatch(lines[7])
			if m == nil {
				t.Fatalf("summary line %q, want rtt min/avg/max/stddev", lines[7])
			}
			lo, _ := strconv.ParseFloat(m[1], 64)
			avg, _ := strconv.ParseFloat(m[2], 64)
			hi, _ := strconv.ParseFloat(m[3], 64)
			if lo <= 0 || lo > avg || avg > hi {
				t.Errorf("min/avg/max %v/%v/%v out of order", lo, avg, hi)
			}
			srv.stop()
		})
	}
}

func TestPingNoReplyExitsOne(t *testing.T) {
	// A port nobody listens on: the connection is refused.
	r := runYamux(t, 30*time.Second, "ping", "-c", "1", "--insecure", "/ip4/127.0.0.1/tcp/1")
	r.wantCode(t, exitFailure, "ping a closed port")
	wantOneErrorLine(t, r.stderr, "yamux ping: connecting to 127.0.0.1:1: ")
	if !strings.Contains(r.stderr, "connection refused") {
		t.Errorf("stderr %q, want it to say connection refused", r.stderr)
	}
}

// summaryOf runs perf --json with args and returns its summary object.
func summaryOf(t *testing.T, args ...string) map[string]any {
	t.Helper()
	args = append([]string{"perf", "--json"}, args...)
	r := runYamux(t, 60*time.Second, args...)
	r.wantCode(t, exitOK, args...)
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	var sum map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil || sum["type"] != "summary" {
		t.Fatalf("last line %q: %v, want the summary", lines[len(lines)-1], err)
	}
	return sum
}

func TestServeAndPerf(t *testing.T) {
	for _, insecure := range []bool{false, true} {
		name := map[bool]string{false: "secured", true: "insecure"}[insecure]
		t.Run(name, func(t *testing.T) {
			var flags []string
			if insecure {
				flags = []string{"--insecure"}
			}
			srv, addr := startServe(t, flags...)
			sum := summaryOf(t, append([]string{addr, "--streams", "2", "--bytes", "4MiB"}, flags...)...)
			up, down := object(t, "upload", sum["upload"]), object(t, "download", sum["download"])
			verified := object(t, "verified", sum["verified"])
			const want = 2 * 4 << 20
			if up["bytes"] != float64(want) || down["bytes"] != float64(want) {
				t.Errorf("moved up %v down %v, want %d each", up["bytes"], down["bytes"], want)
			}
			// serve is ours (identify says so), so the download's content is
			// checked; the upload is checked by nobody but the server's count.
			if verified["content"] != true || verified["download_bytes"] != float64(want) {
				t.Errorf("verified %v, want the whole download checked against the pattern", verified)
			}
			if sum["in_process"] != false || sum["target"] != addr {
				t.Errorf("summary target %v in_process %v, want %s, false", sum["target"], sum["in_process"], addr)
			}
			wantSec, wantPeer := "noise", addr[strings.LastIndex(addr, "/")+1:]
			if insecure {
				wantSec, wantPeer = "none", ""
			}
			if sum["security"] != wantSec || (sum["remote_peer"] != nil && sum["remote_peer"] != wantPeer) ||
				(!insecure && sum["remote_peer"] == nil) {
				t.Errorf("security %v, remote_peer %v; want %s, %q", sum["security"], sum["remote_peer"], wantSec, wantPeer)
			}
			srv.stop()
		})
	}
}

// TestWrongPeerID: dialing a server under another peer ID fails before any
// stream, with both IDs named, for ping and perf alike.
func TestWrongPeerID(t *testing.T) {
	srv, addr := startServe(t)
	key := filepath.Join(t.TempDir(), "other.key")
	other := strings.TrimSpace(runYamux(t, 30*time.Second, "keygen", "--out", key).stdout)
	real := addr[strings.LastIndex(addr, "/")+1:]
	wrong := strings.TrimSuffix(addr, real) + other
	for _, args := range [][]string{{"ping", "-c", "1", wrong}, {"perf", "--bytes", "1MiB", wrong}} {
		r := runYamux(t, 30*time.Second, args...)
		r.wantCode(t, exitFailure, args...)
		wantOneErrorLine(t, r.stderr, "yamux "+args[0]+": wrong peer at 127.0.0.1:")
		if !strings.Contains(r.stderr, "it proved to be "+real+", not "+other) {
			t.Errorf("stderr %q: want both peer IDs named", r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("stdout %q: want nothing, no stream ever opened", r.stdout)
		}
	}
	srv.stop()
}

// metricsURL finds the metrics URL in serve's JSON log.
func metricsURL(t *testing.T, p *process) string {
	t.Helper()
	log := p.stderr.waitFor(t, `"msg":"listening"`, 10*time.Second)
	for _, l := range strings.Split(log, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) == nil && rec["msg"] == "listening" {
			if u, ok := rec["metrics"].(string); ok {
				return u
			}
		}
	}
	t.Fatalf("the listening record has no metrics URL:\n%s", log)
	return ""
}

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing %s: %v", url, err)
	}
	return fams
}

// value is the sample of family name whose labels include all of want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && labels[k] == v
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		}
	}
	t.Fatalf("no sample of %s with labels %v", name, want)
	return 0
}

func TestServeMetrics(t *testing.T) {
	srv, addr := startServe(t, "--metrics", "127.0.0.1:0", "--log-format", "json")
	url := metricsURL(t, srv)
	summaryOf(t, addr, "--streams", "2", "--bytes", "2MiB")
	runYamux(t, 30*time.Second, "ping", "-c", "2", "-i", "10ms", addr).wantCode(t, exitOK, "ping")
	// The clients have exited; the server has seen both connections end
	// once it has logged it.
	srv.stderr.waitForN(t, `"msg":"connection closed"`, 2, 10*time.Second)

	fams := scrape(t, url)
	const perfBytes = 2 * 2 << 20
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"yamux_connections_total", nil, 2},
		{"yamux_streams_opened_total", map[string]string{"protocol": "/perf/1.0.0"}, 2},
		{"yamux_streams_opened_total", map[string]string{"protocol": "/ipfs/ping/1.0.0"}, 1},
		{"yamux_perf_bytes_total", map[string]string{"direction": "upload"}, perfBytes},
		{"yamux_perf_bytes_total", map[string]string{"direction": "download"}, perfBytes},
		{"yamux_connections", nil, 0},
		{"yamux_streams", nil, 0},
		// From the core's Session.Stats: both clients opened 5 streams in all
		// (each host identifies its peer on connecting, then 2 perf and 1
		// ping), none was reset or refused, and both said GO_AWAY(normal)
		// when they closed.
		{"yamux_protocol_errors_total", nil, 0},
		{"yamux_streams_total", map[string]string{"origin": "remote"}, 5},
		{"yamux_streams_opened_total", map[string]string{"protocol": "/ipfs/id/1.0.0"}, 2},
		{"yamux_streams_total", map[string]string{"origin": "refused"}, 0},
		{"yamux_stream_resets_total", map[string]string{"side": "remote"}, 0},
		{"yamux_goaway_total", map[string]string{"direction": "received", "code": "normal"}, 2},
		{"yamux_send_queue_bytes", nil, 0},
	} {
		if got := value(t, fams, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// Both connections ended, by the clients; whether the server read their
	// GO_AWAY or just their EOF first is the core's timing, so only the total
	// is fixed.
	closes := 0.0
	for _, m := range fams["yamux_connection_closes_total"].GetMetric() {
		closes += m.GetCounter().GetValue()
	}
	if closes != 2 {
		t.Errorf("yamux_connection_closes_total adds up to %v, want 2", closes)
	}
	// The transport carries the payload plus Noise and Yamux framing.
	for dir, payload := range map[string]float64{"in": perfBytes, "out": perfBytes} {
		if got := value(t, fams, "yamux_transport_bytes_total", map[string]string{"direction": dir}); got <= payload || got > payload*1.01+1<<16 {
			t.Errorf("transport bytes %s = %v, want a little over the %v payload", dir, got, payload)
		}
	}
	// Yamux bytes are the payload plus 12-byte headers, and less than what
	// the TCP connections carried (Noise adds its own framing).
	for dir, tcpDir := range map[string]string{"sent": "out", "received": "in"} {
		y := value(t, fams, "yamux_bytes_total", map[string]string{"direction": dir})
		tcp := value(t, fams, "yamux_transport_bytes_total", map[string]string{"direction": tcpDir})
		if y <= perfBytes || y >= tcp {
			t.Errorf("yamux bytes %s = %v, want between the %v payload and the %v TCP bytes", dir, y, float64(perfBytes), tcp)
		}
		if f := value(t, fams, "yamux_frames_total", map[string]string{"direction": dir}); f < perfBytes/(256<<10) {
			t.Errorf("yamux frames %s = %v, too few for %v bytes", dir, f, float64(perfBytes))
		}
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("no go_goroutines: the Go collector is missing")
	}
	srv.stop()
}

// TestServeShutdownDuringTransfer: SIGTERM while a perf run is in flight
// sends GO_AWAY, lets the streams finish within the drain time, and exits
// 0; the client's run completes.
func TestServeShutdownDuringTransfer(t *testing.T) {
	srv, addr := startServe(t, "--drain", "20s", "--log-format", "json")
	client := startYamux(t, "perf", addr, "--duration", "2s", "--interval", "100ms")
	for !strings.HasPrefix(client.line(30*time.Second), "[SUM]") {
	}
	srv.stop()
	if !strings.Contains(srv.stderr.String(), `"msg":"shutting down: GO_AWAY to every peer"`) {
		t.Errorf("serve's log lacks the shutdown record:\n%s", srv.stderr)
	}
	if !strings.Contains(srv.stderr.String(), `"streams_cut":0`) {
		t.Errorf("serve cut streams short:\n%s", srv.stderr)
	}
	for range client.lines {
	}
	if code := client.wait(30 * time.Second); code != exitOK {
		t.Errorf("perf exited %d after the server's graceful shutdown, want 0; stderr:\n%s", code, client.stderr)
	}
}

// TestServeSecondSignalExitsAtOnce: a second signal does not wait for the
// drain.
func TestServeSecondSignalExitsAtOnce(t *testing.T) {
	srv, addr := startServe(t, "--drain", "60s")
	client := startYamux(t, "perf", addr, "--duration", "60s", "--interval", "100ms")
	for !strings.HasPrefix(client.line(30*time.Second), "[SUM]") {
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	// The first signal's shutdown record says the drain has begun.
	srv.stderr.waitFor(t, "shutting down", 10*time.Second)
	start := time.Now()
	srv.cmd.Process.Signal(os.Interrupt)
	if code := srv.wait(10 * time.Second); code != exitFailure {
		t.Errorf("serve exited %d on the second signal, want %d", code, exitFailure)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("serve took %v to exit on the second signal, want at once (the drain is 60s)", d)
	}
	for range client.lines {
	}
	if code := client.wait(30 * time.Second); code != exitFailure {
		t.Errorf("perf exited %d when its server vanished, want %d", code, exitFailure)
	}
}

// TestSecurityMismatchAndTimeout: the errors the issue names, each one
// line and exit 1: a secured dial to an insecure server (handshake
// failure), an insecure dial to a secured one, and a server that accepts
// TCP but never answers (timeout).
func TestSecurityMismatchAndTimeout(t *testing.T) {
	insecureSrv, insecureAddr := startServe(t, "--insecure")
	securedSrv, securedAddr := startServe(t)
	someID := securedAddr[strings.LastIndex(securedAddr, "/")+1:]

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan net.Conn, 4)
	acceptDone := make(chan struct{})
	go func() {
		defer close(acceptDone)
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held <- c // never read, never answered
		}
	}()
	t.Cleanup(func() {
		silent.Close()
		<-acceptDone
		close(held)
		for c := range held {
			c.Close()
		}
	})
	silentAddr := tcpMultiaddr(silent.Addr(), peerIDOf(t, someID))

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"perf", "--bytes", "1MiB", insecureAddr + "/p2p/" + someID}, "negotiating Noise with 127.0.0.1:"},
		{[]string{"ping", "-c", "1", "--insecure", strings.TrimSuffix(securedAddr, "/p2p/"+someID)}, "(is the peer running with --insecure?)"},
		{[]string{"perf", "--bytes", "1MiB", "--timeout", "300ms", silentAddr}, "timed out after 300ms"},
		{[]string{"ping", "-c", "1", "--timeout", "300ms", silentAddr}, "timed out after 300ms"},
	} {
		r := runYamux(t, 30*time.Second, tc.args...)
		r.wantCode(t, exitFailure, tc.args...)
		wantOneErrorLine(t, r.stderr, "yamux "+tc.args[0]+": ")
		if !strings.Contains(r.stderr, tc.want) {
			t.Errorf("yamux %s: stderr %q, want it to say %q", strings.Join(tc.args, " "), r.stderr, tc.want)
		}
	}
	insecureSrv.stop()
	securedSrv.stop()
}

func peerIDOf(t *testing.T, s string) peer.ID {
	t.Helper()
	id, err := peer.Decode(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
