package libp2p

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	gopeer "github.com/libp2p/go-libp2p/core/peer"
	goping "github.com/libp2p/go-libp2p/p2p/protocol/ping"
	ma "github.com/multiformats/go-multiaddr"
)

// buildYamux builds the yamux command of the root module into a test
// directory.
func buildYamux(t *testing.T) string {
	t.Helper()
	goTool := "go"
	//lint:ignore SA1019 the toolchain that built this test is the one to ask; PATH is the fallback
	if root := runtime.GOROOT(); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			goTool = p
		}
	}
	bin := filepath.Join(t.TempDir(), "yamux")
	cmd := exec.Command(goTool, "build", "-o", bin, "./cmd/yamux")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the yamux command: %v\n%s", err, out)
	}
	return bin
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// goPerfServer is a /perf/1.0.0 server written with go-libp2p's host API,
// as the protocol's spec describes it: read the size, read to EOF, send
// that many bytes (zeros here), close the write side.
func goPerfServer(received, sent *atomic.Uint64) network.StreamHandler {
	return func(s network.Stream) {
		defer s.Close()
		var hdr [8]byte
		if _, err := io.ReadFull(s, hdr[:]); err != nil {
			s.Reset()
			return
		}
		n, err := io.Copy(io.Discard, s)
		received.Add(uint64(n))
		if err != nil {
			s.Reset()
			return
		}
		want := binary.BigEndian.Uint64(hdr[:])
		block := make([]byte, 64<<10)
		for left := want; left > 0; {
			w, err := s.Write(block[:min(left, uint64(len(block)))])
			sent.Add(uint64(w))
			left -= uint64(w)
			if err != nil {
				s.Reset() // our client's reset ends a duration-mode download
				return
			}
		}
		s.CloseWrite()
	}
}

// TestCLIPerfAgainstGoLibp2p: `yamux perf MULTIADDR` measures a go-libp2p
// host's perf server, by size and by time.
func TestCLIPerfAgainstGoLibp2p(t *testing.T) {
	bin := buildYamux(t)
	gh := newGoHost(t, true, true)
	var received, sent atomic.Uint64
	gh.SetStreamHandler("/perf/1.0.0", goPerfServer(&received, &sent))
	addr := goAddr(t, gh).String()

	out, err := exec.Command(bin, "perf", addr, "--json", "--streams", "3", "--bytes", "4MiB").Output()
	if err != nil {
		t.Fatalf("yamux perf %s: %v\n%s", addr, err, stderrOf(err))
	}
	sum := lastJSON(t, out)
	const want = 3 * 4 << 20
	up, down := sum["upload"].(map[string]any), sum["download"].(map[string]any)
	if up["bytes"] != float64(want) || down["bytes"] != float64(want) {
		t.Errorf("perf moved up %v down %v, want %d each", up["bytes"], down["bytes"], want)
	}
	if received.Load() != want || sent.Load() != want {
		t.Errorf("go-libp2p received %d and sent %d, want %d each", received.Load(), sent.Load(), want)
	}
	if v := sum["verified"].(map[string]any); v["content"] != false {
		t.Errorf("verified %v: a go-libp2p server's content cannot be checked, want counts only", v)
	}
	if sum["security"] != "noise" || sum["remote_peer"] != gh.ID().String() {
		t.Errorf("security %v remote_peer %v, want noise and %s", sum["security"], sum["remote_peer"], gh.ID())
	}

	out, err = exec.Command(bin, "perf", addr, "--json", "--streams", "2", "--duration", "600ms").Output()
	if err != nil {
		t.Fatalf("yamux perf --duration against go-libp2p: %v\n%s", err, stderrOf(err))
	}
	for _, s := range lastJSON(t, out)["per_stream"].([]any) {
		st := s.(map[string]any)
		if st["download_cut"] != true || st["download_bytes"].(float64) == 0 || st["upload_bytes"].(float64) == 0 {
			t.Errorf("stream %v: want bytes both ways and the download cut at the time limit", st)
		}
	}
}

// serveBin is a running `yamux serve`.
type serveBin struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string
	id     gopeer.ID
	stderr bytes.Buffer
	exited chan error
}

// startServeBin starts `yamux serve` and reads the address it prints.
func startServeBin(t *testing.T, bin string) *serveBin {
	t.Helper()
	s := &serveBin{t: t, cmd: exec.Command(bin, "serve"), exited: make(chan error, 1)}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = &s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		err := <-s.exited
		s.exited <- err
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		io.Copy(io.Discard, stdout)
		s.exited <- s.cmd.Wait()
	}()
	select {
	case s.addr = <-lines:
	case <-time.After(30 * time.Second):
		t.Fatal("serve printed no address")
	}
	m, err := ma.NewMultiaddr(s.addr)
	if err != nil {
		t.Fatalf("serve printed %q: %v", s.addr, err)
	}
	info, err := gopeer.AddrInfoFromP2pAddr(m)
	if err != nil {
		t.Fatalf("serve's address %q: %v", s.addr, err)
	}
	s.id = info.ID
	return s
}

// stop sends SIGTERM and expects exit 0.
func (s *serveBin) stop() {
	s.t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		s.exited <- err // for the cleanup
		if err != nil {
			s.t.Errorf("serve after SIGTERM: %v, want exit 0; stderr:\n%s", err, &s.stderr)
		}
	case <-time.After(30 * time.Second):
		s.t.Fatalf("serve still running 30s after SIGTERM; stderr:\n%s", &s.stderr)
	}
}

// TestCLIServeWithGoLibp2p: a go-libp2p host connects to `yamux serve`,
// identifies it, pings it and echoes through it; SIGTERM then ends serve
// cleanly.
func TestCLIServeWithGoLibp2p(t *testing.T) {
	bin := buildYamux(t)
	srv := startServeBin(t, bin)
	m, _ := ma.NewMultiaddr(srv.addr)
	info, _ := gopeer.AddrInfoFromP2pAddr(m)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	gh := newGoHost(t, true, false)
	idDone := identified(t, gh, info.ID)
	if err := gh.Connect(ctx, *info); err != nil {
		t.Fatalf("go-libp2p connecting to serve: %v", err)
	}
	if err := <-idDone; err != nil {
		t.Fatalf("go-libp2p identifying serve: %v", err)
	}
	agent, _ := gh.Peerstore().Get(info.ID, "AgentVersion")
	if s, _ := agent.(string); !strings.HasPrefix(s, "yamuxgo-cli/") {
		t.Errorf("serve's agent %v, want yamuxgo-cli/...", agent)
	}
	protos, _ := gh.Peerstore().GetProtocols(info.ID)
	for _, p := range []string{"/perf/1.0.0", echoID, "/ipfs/ping/1.0.0", "/ipfs/id/1.0.0"} {
		if !slices.ContainsFunc(protos, func(q protocolID) bool { return string(q) == p }) {
			t.Errorf("serve's protocols %v lack %s", protos, p)
		}
	}
	for range 3 {
		if res := <-goping.Ping(ctx, gh, info.ID); res.Error != nil || res.RTT <= 0 {
			t.Fatalf("go-libp2p ping of serve: %v, %v", res.RTT, res.Error)
		}
	}
	s, err := gh.NewStream(ctx, info.ID, echoID)
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 1<<20)
	rand.Read(data)
	go func() {
		s.Write(data)
		s.CloseWrite()
	}()
	back, err := io.ReadAll(s)
	s.Close()
	if err != nil || !bytes.Equal(back, data) {
		t.Fatalf("echo through serve: %d bytes back (%v), want the 1 MiB sent", len(back), err)
	}
	srv.stop()
}

// TestCLIServeWithJSLibp2p: a js-libp2p node dials `yamux serve`,
// identifies it, pings it and echoes 32 streams through it.
func TestCLIServeWithJSLibp2p(t *testing.T) {
	bin := buildYamux(t)
	srv := startServeBin(t, bin)
	n := startJSNode(t)
	ctx := ctxTimeout(t, 90*time.Second)
	var dr struct {
		RemotePeer string `json:"remotePeer"`
	}
	if err := n.call(ctx, &dr, "dial", map[string]any{"addr": srv.addr}); err != nil {
		t.Fatalf("js dialing serve: %v", err)
	}
	if dr.RemotePeer != srv.id.String() {
		t.Fatalf("js reached %s, want %s", dr.RemotePeer, srv.id)
	}
	var id jsIdentify
	if err := n.call(ctx, &id, "identified", map[string]any{"peer": dr.RemotePeer}); err != nil {
		t.Fatalf("js identify of serve: %v", err)
	}
	if !strings.HasPrefix(id.AgentVersion, "yamuxgo-cli/") || !contains(id.Protocols, "/perf/1.0.0") || !contains(id.Protocols, echoID) {
		t.Errorf("js sees serve as agent %q with %q", id.AgentVersion, id.Protocols)
	}
	var pr struct{ RTT float64 }
	for range 3 {
		if err := n.call(ctx, &pr, "ping", map[string]any{"peer": dr.RemotePeer}); err != nil {
			t.Fatalf("js ping of serve: %v", err)
		}
	}
	var er struct{ Bytes int }
	if err := n.call(ctx, &er, "echo", map[string]any{"peer": dr.RemotePeer, "streams": echoCount, "size": echoSize}); err != nil {
		t.Fatalf("js echo through serve: %v", err)
	}
	if er.Bytes != echoCount*echoSize {
		t.Fatalf("js echoed %d bytes through serve, want %d", er.Bytes, echoCount*echoSize)
	}
	srv.stop()
}

// TestCLIPingRealNodes: `yamux ping` measures go-libp2p and js-libp2p
// nodes, with ping(8)'s output.
func TestCLIPingRealNodes(t *testing.T) {
	bin := buildYamux(t)
	gh := newGoHost(t, true, true)
	n := startJSNode(t)
	for name, addr := range map[string]string{"go-libp2p": goAddr(t, gh).String(), "js-libp2p": n.addrs[0]} {
		out, err := exec.Command(bin, "ping", "-c", "3", "-i", "20ms", addr).Output()
		if err != nil {
			t.Fatalf("yamux ping %s (%s): %v\n%s", name, addr, err, stderrOf(err))
		}
		if !strings.Contains(string(out), "3 pings transmitted, 3 received, 0% loss") ||
			!strings.Contains(string(out), "rtt min/avg/max/stddev = ") {
			t.Errorf("yamux ping %s printed:\n%s", name, out)
		}
	}
}

func stderrOf(err error) []byte {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.Stderr
	}
	return nil
}

func lastJSON(t *testing.T, out []byte) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil || m["type"] != "summary" {
		t.Fatalf("last line %q: %v, want the summary", lines[len(lines)-1], err)
	}
	return m
}
