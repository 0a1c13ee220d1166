package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/yamuxgo/yamux/peer"
)

// yamuxBin is the command under test, built once by TestMain.
var yamuxBin string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "yamux-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	yamuxBin = filepath.Join(dir, "yamux")
	args := []string{"build", "-o", yamuxBin}
	if raceEnabled {
		// The binary runs with the race detector whenever the tests do.
		args = append(args, "-race")
	}
	cmd := exec.Command(goTool(), append(args, ".")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the yamux command: %v\n%s", err, out)
		return 1
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			return 1
		}
	}
	return code
}

// goTool finds the go command that built this test: GOROOT first, then PATH.
func goTool() string {
	//lint:ignore SA1019 the toolchain that built this test is the one to ask; PATH is the fallback
	if root := runtime.GOROOT(); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "go"
}

// binEnv is the environment the command runs in: ours, with the race
// detector's default one-second pause at exit turned off (a race still
// makes the binary exit 66, which fails the test).
func binEnv() []string {
	return append(os.Environ(), "GORACE=atexit_sleep_ms=0")
}

// result is how a finished command ended.
type result struct {
	stdout, stderr string
	code           int
}

// runYamux runs the command with args to its end, failing the test if it
// takes longer than limit.
func runYamux(t *testing.T, limit time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, yamuxBin, args...)
	cmd.Env = binEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("yamux %s: still running after %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), limit, &stdout, &stderr)
	}
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("yamux %s: %v", strings.Join(args, " "), err)
	}
	return result{stdout.String(), stderr.String(), code}
}

// wantCode fails the test unless r ended with code.
func (r result) wantCode(t *testing.T, code int, args ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("yamux %s: exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
}

// wantOneErrorLine checks the error conventions: one line on stderr,
// prefixed by the command, no Go runtime noise.
func wantOneErrorLine(t *testing.T, stderr, prefix string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], prefix) {
		t.Errorf("stderr %q: want one line starting with %q", stderr, prefix)
	}
	for _, bad := range []string{"goroutine ", "panic", ".go:"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("stderr %q contains %q", stderr, bad)
		}
	}
}

// process is a running command, such as `yamux serve`, whose stdout lines
// the test reads as they come.
type process struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan string
	stderr *syncBuffer
	done   chan struct{}
	err    error
}

func startYamux(t *testing.T, args ...string) *process {
	t.Helper()
	cmd := exec.Command(yamuxBin, args...)
	cmd.Env = binEnv()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{t: t, cmd: cmd, lines: make(chan string, 1024), stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// line returns the next stdout line, failing the test after limit.
func (p *process) line(limit time.Duration) string {
	p.t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			<-p.done
			p.t.Fatalf("yamux exited (%v) before printing a line; stderr:\n%s", p.err, p.stderr)
		}
		return l
	case <-time.After(limit):
		p.t.Fatalf("no stdout line within %v; stderr:\n%s", limit, p.stderr)
		return ""
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *process) wait(limit time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(limit):
		p.t.Fatalf("still running after %v; stderr:\n%s", limit, p.stderr)
	}
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &ee):
		return ee.ExitCode()
	default:
		p.t.Fatalf("wait: %v", p.err)
		return -1
	}
}

// syncBuffer is a bytes.Buffer safe for the writer goroutine of exec and
// the test reading it, which can wait for text to appear.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed and replaced by every Write
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
	return s.b.Write(p)
}

// waitFor returns the buffer's content once it contains substr, or fails
// the test after limit.
func (s *syncBuffer) waitFor(t *testing.T, substr string, limit time.Duration) string {
	t.Helper()
	return s.waitForN(t, substr, 1, limit)
}

// waitForN is waitFor for n occurrences of substr.
func (s *syncBuffer) waitForN(t *testing.T, substr string, n int, limit time.Duration) string {
	t.Helper()
	timeout := time.After(limit)
	for {
		s.mu.Lock()
		text := s.b.String()
		if strings.Count(text, substr) >= n {
			s.mu.Unlock()
			return text
		}
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("no %q within %v in:\n%s", substr, limit, text)
		}
	}
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var _ io.Writer = (*syncBuffer)(nil)

// tcpMultiaddr is the multiaddr of a TCP address (for a listener the
// test runs itself), with /p2p/<id> unless id
// is zero.
func tcpMultiaddr(a net.Addr, id peer.ID) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	family := "ip4"
	if tcp.IP.To4() == nil {
		family = "ip6"
	}
	s := fmt.Sprintf("/%s/%s/tcp/%d", family, tcp.IP, tcp.Port)
	if !id.IsZero() {
		s += "/p2p/" + id.String()
	}
	return s
}
