package libp2p

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// jsNode is a js-libp2p node (js/node.mjs) in a child process, driven by
// one JSON object per line on stdin and stdout.
type jsNode struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	peerID string
	addrs  []string
	done   chan struct{} // closed when the stdout reader has ended

	mu      sync.Mutex
	nextID  int
	waiters map[int]chan jsReply
	stderr  []byte
}

type jsReply struct {
	ID     int             `json:"id"`
	OK     bool            `json:"ok"`
	Error  string          `json:"error"`
	Name   string          `json:"name"`
	Result json.RawMessage `json:"result"`
	Event  string          `json:"event"`
	PeerID string          `json:"peerId"`
	Addrs  []string        `json:"addrs"`
	Msg    string          `json:"msg"`
}

// startJSNode starts the node and waits until it listens. It fails the
// test (never skips) when node or js/node_modules is missing, so that a CI
// run that forgot `npm ci` cannot pass.
func startJSNode(t testing.TB) *jsNode {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node not found in PATH: %v", err)
	}
	if _, err := os.Stat(filepath.Join("js", "node_modules", "libp2p", "package.json")); err != nil {
		t.Fatalf("js/node_modules missing: run `npm ci --prefix js` in interop/libp2p/ (%v)", err)
	}
	cmd := exec.Command("node", "node.mjs")
	cmd.Dir = "js"
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	n := &jsNode{cmd: cmd, stdin: stdin, waiters: make(map[int]chan jsReply), done: make(chan struct{})}
	cmd.Stderr = (*stderrSink)(n)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan jsReply, 1)
	go n.readLoop(t, stdout, ready)
	t.Cleanup(func() { n.stop(t) })
	select {
	case r := <-ready:
		n.peerID, n.addrs = r.PeerID, r.Addrs
	case <-n.done:
		t.Fatalf("js node exited before it was ready; stderr: %s", n.stderrText())
	case <-time.After(30 * time.Second):
		t.Fatalf("js node not ready after 30 s; stderr: %s", n.stderrText())
	}
	return n
}

type stderrSink jsNode

func (s *stderrSink) Write(b []byte) (int, error) {
	n := (*jsNode)(s)
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.stderr) < 64<<10 {
		n.stderr = append(n.stderr, b...)
	}
	return len(b), nil
}

func (n *jsNode) stderrText() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return string(n.stderr)
}

func (n *jsNode) readLoop(t testing.TB, stdout io.Reader, ready chan<- jsReply) {
	defer close(n.done)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r jsReply
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			continue
		}
		switch r.Event {
		case "ready":
			ready <- r
		case "log", "identify":
			// Diagnostics only; the commands return what the tests check.
		case "":
			n.mu.Lock()
			ch := n.waiters[r.ID]
			delete(n.waiters, r.ID)
			n.mu.Unlock()
			if ch != nil {
				ch <- r
			}
		}
	}
}

// call runs one command and decodes its result into out.
func (n *jsNode) call(ctx context.Context, out any, cmd string, args map[string]any) error {
	n.mu.Lock()
	n.nextID++
	id := n.nextID
	ch := make(chan jsReply, 1)
	n.waiters[id] = ch
	n.mu.Unlock()
	msg := map[string]any{"id": id, "cmd": cmd}
	for k, v := range args {
		msg[k] = v
	}
	b, _ := json.Marshal(msg)
	if _, err := n.stdin.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("js node: %w", err)
	}
	select {
	case r := <-ch:
		if !r.OK {
			return &jsError{Name: r.Name, Msg: r.Error}
		}
		if out != nil {
			return json.Unmarshal(r.Result, out)
		}
		return nil
	case <-n.done:
		return fmt.Errorf("js node exited during %s; stderr: %s", cmd, n.stderrText())
	case <-ctx.Done():
		return fmt.Errorf("js node %s: %w", cmd, ctx.Err())
	}
}

// jsError is a command that failed inside the node.
type jsError struct{ Name, Msg string }

func (e *jsError) Error() string { return fmt.Sprintf("js %s: %s", e.Name, e.Msg) }

// stop asks the node to exit (stdin closed) and kills it after 5 s.
func (n *jsNode) stop(t testing.TB) {
	n.stdin.Close()
	exited := make(chan error, 1)
	go func() { exited <- n.cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		n.cmd.Process.Kill()
		<-exited
	}
	<-n.done
}
