package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// JavaScript peers run in a Node.js child process (js/peer.mjs), one process
// per session, controlled over stdin/stdout with one JSON object per line.

const jsDir = "js"

// jsAvailable reports why JS peers cannot run ("" if they can).
var jsAvailable = sync.OnceValue(func() string {
	if _, err := exec.LookPath("node"); err != nil {
		return "node not found in PATH"
	}
	for _, p := range []string{"@chainsafe/libp2p-yamux", "@libp2p/utils", "@libp2p/logger", "yamux-js"} {
		if _, err := os.Stat(filepath.Join(jsDir, "node_modules", p, "package.json")); err != nil {
			return fmt.Sprintf("js/node_modules/%s missing: run `npm ci --prefix js` in interop/", p)
		}
	}
	return ""
})

func jsPeer(implName string) *peerDesc {
	d := &peerDesc{name: implName}
	switch implName {
	case "chainsafe":
		d.peerGoAwayHow = "muxer.close(): closes every stream's write side, then GO_AWAY(0); socket stays open"
		d.peerCloseHow = "muxer.close() (GO_AWAY(0)), then the socket is ended"
	case "yamuxjs":
		d.informational = true
		d.goAwayKeepsSession = true
		d.goAwayKeepsStreams = true
		d.peerGoAwayHow = "session.goAway(0) (private): GO_AWAY(0) only"
		d.peerCloseHow = "session.close(): GO_AWAY(0), then the socket is ended"
	}
	d.connect = func(ctx context.Context, ourClient bool, o sessOpts) (net.Conn, peerSession, error) {
		return startJSPeer(ctx, implName, ourClient, o)
	}
	return d
}

// jsMsg is one line from the peer: a reply to a command (ID set; OK false
// means the command itself failed, Result holds its outcome) or an event
// ("stream" events carry a peerResult inline).
type jsMsg struct {
	ID      int64       `json:"id,omitempty"`
	CmdOK   bool        `json:"ok"`
	CmdErr  string      `json:"error,omitempty"`
	ErrKind string      `json:"errKind,omitempty"`
	Result  *peerResult `json:"result,omitempty"`
	Event   string      `json:"event,omitempty"`
	Port    int         `json:"port,omitempty"`
}

type jsPeerSession struct {
	impl   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *capBuffer

	mu      sync.Mutex
	nextID  int64
	waiters map[int64]chan jsMsg
	results map[string]chan peerResult
	readyCh chan int // listening port (listen mode)
	closed  chan struct{}
	exited  chan struct{} // stdout reader finished (process gone or stdout closed)
	logs    []string
	once    sync.Once

	closeOnce sync.Once
}

func startJSPeer(ctx context.Context, implName string, ourClient bool, o sessOpts) (net.Conn, peerSession, error) {
	if why := jsAvailable(); why != "" {
		return nil, nil, errors.New(why)
	}
	args := []string{"peer.mjs", "--impl", implName}
	var ln net.Listener
	if ourClient {
		args = append(args, "--mode", "listen")
	} else {
		var lc net.ListenConfig
		var err error
		ln, err = lc.Listen(ctx, "tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
		}
		defer ln.Close()
		args = append(args, "--mode", "dial", "--port", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	}
	if o.keepAlive > 0 {
		args = append(args, "--keepalive", strconv.FormatInt(o.keepAlive.Milliseconds(), 10))
	}
	cmd := exec.Command("node", args...)
	cmd.Dir = jsDir
	cmd.Env = append(os.Environ(), "NODE_NO_WARNINGS=1")
	p := &jsPeerSession{
		impl:    implName,
		cmd:     cmd,
		stderr:  &capBuffer{max: 64 << 10},
		waiters: map[int64]chan jsMsg{},
		results: map[string]chan peerResult{},
		readyCh: make(chan int, 1),
		closed:  make(chan struct{}),
		exited:  make(chan struct{}),
	}
	cmd.Stderr = p.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	p.stdin = stdin
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	go p.readLoop(stdout)

	fail := func(err error) (net.Conn, peerSession, error) {
		p.Shutdown()
		return nil, nil, fmt.Errorf("%w\n%s", err, p.Diag())
	}
	if ourClient {
		var port int
		select {
		case port = <-p.readyCh:
		case <-p.exited:
			return fail(errors.New("node peer exited before listening"))
		case <-ctx.Done():
			return fail(fmt.Errorf("node peer did not start listening: %w", ctx.Err()))
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			return fail(err)
		}
		return c, p, nil
	}
	tl := ln.(*net.TCPListener)
	tl.SetDeadline(deadlineCtx(ctx, 15*time.Second))
	c, err := tl.Accept()
	if err != nil {
		return fail(fmt.Errorf("node peer did not connect: %w", err))
	}
	return c, p, nil
}

func (p *jsPeerSession) readLoop(r io.Reader) {
	defer close(p.exited)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var m jsMsg
		if err := json.Unmarshal(line, &m); err != nil {
			p.addLog("stdout: " + string(line))
			continue
		}
		switch {
		case m.ID != 0:
			p.mu.Lock()
			ch := p.waiters[m.ID]
			delete(p.waiters, m.ID)
			p.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		case m.Event == "ready":
			p.readyCh <- m.Port
		case m.Event == "stream":
			var r peerResult
			json.Unmarshal(line, &r)
			select {
			case p.resultCh(r.Tag) <- r:
			default: // a second report for one tag (e.g. "?" when headers failed)
				p.addLog(string(line))
			}
		case m.Event == "session-closed":
			p.closeOnce.Do(func() { close(p.closed) })
			p.addLog("event: session-closed")
		case m.Event == "connected":
		default:
			p.addLog(string(line))
		}
	}
}

func (p *jsPeerSession) addLog(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.logs) < 300 {
		p.logs = append(p.logs, s)
	}
}

func (p *jsPeerSession) resultCh(tag string) chan peerResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	ch := p.results[tag]
	if ch == nil {
		ch = make(chan peerResult, 1)
		p.results[tag] = ch
	}
	return ch
}

// call sends one command and waits for its reply.
func (p *jsPeerSession) call(ctx context.Context, cmd map[string]any) (jsMsg, error) {
	p.mu.Lock()
	p.nextID++
	id := p.nextID
	ch := make(chan jsMsg, 1)
	p.waiters[id] = ch
	p.mu.Unlock()
	cmd["id"] = id
	b, _ := json.Marshal(cmd)
	b = append(b, '\n')
	if _, err := p.stdin.Write(b); err != nil {
		return jsMsg{}, fmt.Errorf("node peer stdin: %w", err)
	}
	select {
	case m := <-ch:
		if !m.CmdOK {
			return m, fmt.Errorf("peer %s %v failed: %s (%s)", p.impl, cmd["cmd"], m.CmdErr, m.ErrKind)
		}
		if m.Result == nil {
			m.Result = &peerResult{}
		}
		return m, nil
	case <-p.exited:
		return jsMsg{}, fmt.Errorf("node peer exited during %v", cmd["cmd"])
	case <-ctx.Done():
		return jsMsg{}, fmt.Errorf("peer %s %v: no reply: %w", p.impl, cmd["cmd"], ctx.Err())
	}
}

func (p *jsPeerSession) Ping(ctx context.Context) (time.Duration, error) {
	m, err := p.call(ctx, map[string]any{"cmd": "ping"})
	if err != nil {
		return 0, err
	}
	if m.Result.RTT == nil {
		return 0, nil
	}
	// Date.now() resolution: a loopback RTT is usually reported as 0 ms.
	return time.Duration(*m.Result.RTT*float64(time.Millisecond)) + time.Nanosecond, nil
}

func (p *jsPeerSession) GoAway(ctx context.Context) error {
	_, err := p.call(ctx, map[string]any{"cmd": "goaway"})
	return err
}

func (p *jsPeerSession) Close(ctx context.Context) error {
	_, err := p.call(ctx, map[string]any{"cmd": "close"})
	return err
}

func (p *jsPeerSession) Alive(ctx context.Context) (bool, error) {
	select {
	case <-p.closed:
		return false, nil
	default:
	}
	m, err := p.call(ctx, map[string]any{"cmd": "status"})
	if err != nil {
		return false, err
	}
	return m.Result.Open, nil
}

func (p *jsPeerSession) Open(ctx context.Context, behaviour string, count, size int) (peerResult, error) {
	cmd := map[string]any{"cmd": "open", "behaviour": behaviour, "count": count, "size": size}
	if dl, ok := ctx.Deadline(); ok {
		cmd["timeoutMs"] = max(100, time.Until(dl).Milliseconds()/2)
	}
	m, err := p.call(ctx, cmd)
	if err != nil {
		return peerResult{Behaviour: behaviour}, err
	}
	m.Result.Behaviour = behaviour
	return *m.Result, nil
}

func (p *jsPeerSession) Result(ctx context.Context, tag string) (peerResult, error) {
	select {
	case r := <-p.resultCh(tag):
		return r, nil
	case <-p.exited:
		select {
		case r := <-p.resultCh(tag):
			return r, nil
		default:
		}
		return peerResult{}, fmt.Errorf("node peer exited before reporting stream %s", tag)
	case <-ctx.Done():
		return peerResult{}, fmt.Errorf("no result from the peer for stream %s: %w", tag, ctx.Err())
	}
}

// Shutdown ends the process: "exit" command and stdin EOF, then SIGKILL after
// 2 s. Always bounded.
func (p *jsPeerSession) Shutdown() {
	p.once.Do(func() {
		p.stdin.Write([]byte(`{"cmd":"exit"}` + "\n"))
		p.stdin.Close()
		waited := make(chan struct{})
		go func() {
			p.cmd.Wait()
			close(waited)
		}()
		select {
		case <-waited:
		case <-time.After(2 * time.Second):
			p.cmd.Process.Kill()
			select {
			case <-waited:
			case <-time.After(5 * time.Second):
			}
		}
		select {
		case <-p.exited:
		case <-time.After(2 * time.Second):
		}
	})
}

func (p *jsPeerSession) Diag() string {
	p.mu.Lock()
	logs := strings.Join(p.logs, "\n")
	p.mu.Unlock()
	s := "peer log:\n" + logs
	if e := p.stderr.String(); e != "" {
		s += "\npeer stderr:\n" + e
	}
	return s
}

// capBuffer keeps the first max bytes written to it.
type capBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (c *capBuffer) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(b[:min(len(b), room)])
	}
	return len(b), nil
}

func (c *capBuffer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}
