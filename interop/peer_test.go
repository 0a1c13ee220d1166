package interop

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A peer is the far end of every scenario: a Yamux implementation driven
// remotely. Streams we open start with a header line "<behaviour> <tag> <arg>\n"
// that tells the peer what to do with them (see serve below and
// js/peer.mjs serveStream); the outcome comes back as a peerResult keyed by tag.
//
// Peer-side stream behaviours (streams opened by us):
//   echo        echo until EOF, then half-close
//   sink        read until EOF, write "ok <n> <sha256>\n", half-close
//   source N    write N bytes (4 MiB writes), half-close, read until EOF
//   reset       reset the stream right after the header
//   await-reset write "ready\n", read until an error, then try one write
// Peer-opened streams ("open" requests; we echo whatever we accept):
//   echo-client count concurrent streams of size bytes, echo verified
//   probe       open, write, read to EOF/error (checks that we refuse streams)

type peerResult struct {
	Tag       string   `json:"tag"`
	Behaviour string   `json:"behaviour"`
	OK        bool     `json:"ok"`
	Error     string   `json:"error,omitempty"`
	ErrKind   string   `json:"errKind,omitempty"`
	Bytes     int64    `json:"bytes"`
	Sha       string   `json:"sha,omitempty"`
	Sent      int64    `json:"sent"`
	SentSha   string   `json:"sentSha,omitempty"`
	RecvBytes int64    `json:"recvBytes"`
	RecvSha   string   `json:"recvSha,omitempty"`
	ReadErr   string   `json:"readErr,omitempty"`
	ReadText  string   `json:"readErrText,omitempty"`
	WriteErr  string   `json:"writeErr,omitempty"`
	WriteText string   `json:"writeErrText,omitempty"`
	Opened    *bool    `json:"opened,omitempty"`
	Failed    int      `json:"failed"`
	Failures  []string `json:"failures,omitempty"`
	RTT       *float64 `json:"rtt,omitempty"` // milliseconds (JS) ; nil if unknown
	Open      bool     `json:"open"`          // status
}

func (r peerResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "{tag=%s beh=%s ok=%v", r.Tag, r.Behaviour, r.OK)
	if r.Error != "" {
		fmt.Fprintf(&b, " err=%q kind=%s", r.Error, r.ErrKind)
	}
	if r.ReadErr != "" {
		fmt.Fprintf(&b, " readErr=%s %s", r.ReadErr, r.ReadText)
	}
	if r.WriteErr != "" {
		fmt.Fprintf(&b, " writeErr=%s %s", r.WriteErr, r.WriteText)
	}
	if r.Opened != nil {
		fmt.Fprintf(&b, " opened=%v", *r.Opened)
	}
	if r.Failed > 0 {
		fmt.Fprintf(&b, " failed=%d %q", r.Failed, r.Failures)
	}
	fmt.Fprintf(&b, " bytes=%d sent=%d recv=%d}", r.Bytes, r.Sent, r.RecvBytes)
	return b.String()
}

type peerSession interface {
	// Ping makes the peer ping us. rtt is 0 if the peer does not report it.
	Ping(ctx context.Context) (rtt time.Duration, err error)
	GoAway(ctx context.Context) error // peer sends GO_AWAY (or its nearest equivalent)
	Close(ctx context.Context) error  // peer closes its session and the connection
	Alive(ctx context.Context) (bool, error)
	Open(ctx context.Context, behaviour string, count, size int) (peerResult, error)
	Result(ctx context.Context, tag string) (peerResult, error)
	Shutdown()    // release everything, idempotent, bounded in time
	Diag() string // diagnostics for failure reports
}

// peerDesc describes one peer implementation and its known behaviour.
type peerDesc struct {
	name          string
	informational bool // failures are expected (yamux-js); only hangs/panics fail
	// resetViaClose: the peer cannot reset a stream at once; it half-closes
	// and sends RST when its StreamCloseTimeout expires (hashicorp).
	resetViaClose bool
	// goAwayKeepsSession: after the peer *receives* GO_AWAY(0) its session
	// and streams go on (hashicorp); otherwise it ends the session.
	goAwayKeepsSession bool
	// goAwayKeepsStreams: after the peer *sends* GO_AWAY, streams it already
	// had keep working (hashicorp, go-yamux: GoAway only sends the frame;
	// chainsafe closes every stream first).
	goAwayKeepsStreams bool
	// peerGoAwayHow / peerCloseHow describe what GoAway/Close do at the peer.
	peerGoAwayHow, peerCloseHow string
	connect                     func(ctx context.Context, ourClient bool, o sessOpts) (net.Conn, peerSession, error)
}

// ------------------------------------------------------------ Go peers

func goPeer(i impl) *peerDesc {
	d := &peerDesc{name: i.Name()}
	switch i.Name() {
	case "hashicorp":
		d.resetViaClose = true
		d.goAwayKeepsSession = true
		d.goAwayKeepsStreams = true
		d.peerGoAwayHow = "Session.GoAway(): GO_AWAY(0), session stays up"
		d.peerCloseHow = "Session.Close(): closes the TCP connection without GO_AWAY"
	case "goyamux":
		d.goAwayKeepsStreams = true
		d.peerGoAwayHow = "Session.GoAway(): GO_AWAY(0), session stays up"
		d.peerCloseHow = "Session.Close(): closes the TCP connection without GO_AWAY"
	default:
		d.goAwayKeepsSession = true
		d.goAwayKeepsStreams = true
		d.peerGoAwayHow = "Session.GoAway()"
		d.peerCloseHow = "Session.Close()"
	}
	d.connect = func(ctx context.Context, ourClient bool, o sessOpts) (net.Conn, peerSession, error) {
		dialed, accepted, err := tcpPair(ctx)
		if err != nil {
			return nil, nil, err
		}
		ours, theirs := dialed, accepted // we dial: we are the yamux client
		if !ourClient {
			ours, theirs = accepted, dialed
		}
		s, err := i.NewSession(theirs, !ourClient, o)
		if err != nil {
			ours.Close()
			theirs.Close()
			return nil, nil, err
		}
		gp := &goPeerSession{impl: i, s: s, conn: theirs, results: map[string]chan peerResult{}}
		gp.wg.Add(1)
		go gp.acceptLoop()
		return ours, gp, nil
	}
	return d
}

// tcpPair returns both ends of one 127.0.0.1 TCP connection.
func tcpPair(ctx context.Context) (dialed, accepted net.Conn, err error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	var d net.Dialer
	dialed, err = d.DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		ln.Close()
		<-ch
		return nil, nil, err
	}
	select {
	case r := <-ch:
		if r.err != nil {
			dialed.Close()
			return nil, nil, r.err
		}
		return dialed, r.c, nil
	case <-ctx.Done():
		dialed.Close()
		ln.Close()
		if r := <-ch; r.c != nil {
			r.c.Close()
		}
		return nil, nil, ctx.Err()
	}
}

const peerStreamTimeout = 3 * time.Minute // upper bound for any peer-side stream

type goPeerSession struct {
	impl    impl
	s       session
	conn    net.Conn
	wg      sync.WaitGroup
	mu      sync.Mutex
	results map[string]chan peerResult
	logMu   sync.Mutex
	log     []string
	once    sync.Once
}

func (g *goPeerSession) logf(format string, args ...any) {
	g.logMu.Lock()
	defer g.logMu.Unlock()
	if len(g.log) < 200 {
		g.log = append(g.log, fmt.Sprintf(format, args...))
	}
}

func (g *goPeerSession) resultCh(tag string) chan peerResult {
	g.mu.Lock()
	defer g.mu.Unlock()
	ch := g.results[tag]
	if ch == nil {
		ch = make(chan peerResult, 1)
		g.results[tag] = ch
	}
	return ch
}

func (g *goPeerSession) acceptLoop() {
	defer g.wg.Done()
	for {
		st, err := g.s.Accept(context.Background())
		if err != nil {
			g.logf("accept loop ends: %v", err)
			return
		}
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			g.serve(st)
		}()
	}
}

func (g *goPeerSession) serve(st stream) {
	st.SetDeadline(time.Now().Add(peerStreamTimeout))
	line, err := readHeader(st)
	if err != nil {
		g.logf("stream header: %v (%s)", err, classify(g.impl, err))
		st.Close()
		return
	}
	f := strings.Fields(line)
	for len(f) < 3 {
		f = append(f, "")
	}
	beh, tag, arg := f[0], f[1], f[2]
	r := peerResult{Tag: tag, Behaviour: beh}
	fail := func(what string, err error) {
		r.OK = false
		r.Error = fmt.Sprintf("%s: %v", what, err)
		r.ErrKind = string(classify(g.impl, err))
	}
	switch beh {
	case "echo":
		buf := make([]byte, 256<<10)
		for {
			n, rerr := st.Read(buf)
			if n > 0 {
				if _, werr := st.Write(buf[:n]); werr != nil {
					fail("echo write", werr)
					break
				}
				r.Bytes += int64(n)
			}
			if rerr != nil {
				if classify(g.impl, rerr) == kindEOF {
					if err := st.CloseWrite(); err != nil {
						fail("close write", err)
					} else {
						r.OK = true
					}
				} else {
					fail("echo read", rerr)
				}
				break
			}
		}
	case "sink":
		n, sum, err := readAll(st)
		r.Bytes, r.Sha = n, sum
		if err != nil {
			fail("sink read", err)
			break
		}
		if _, err := fmt.Fprintf(st, "ok %d %s\n", n, sum); err != nil {
			fail("sink report", err)
			break
		}
		if err := st.CloseWrite(); err != nil {
			fail("close write", err)
			break
		}
		r.OK = true
	case "source":
		total, _ := strconv.Atoi(arg)
		sum, err := writePattern(st, len(tag)*7919, total, 4<<20)
		if err != nil {
			fail("source write", err)
			break
		}
		r.Sent, r.SentSha = int64(total), sum
		if err := st.CloseWrite(); err != nil {
			fail("close write", err)
			break
		}
		n, sum2, err := readAll(st)
		r.RecvBytes, r.RecvSha = n, sum2
		if err != nil {
			fail("source read", err)
			break
		}
		r.OK = true
	case "reset":
		if err := st.Reset(); err != nil {
			fail("reset", err)
			break
		}
		r.OK = true
	case "await-reset":
		if _, err := st.Write([]byte("ready\n")); err != nil {
			fail("ready", err)
			break
		}
		n, _, err := readAll(st)
		r.Bytes = n
		r.ReadErr = string(classify(g.impl, err))
		if err != nil {
			r.ReadText = err.Error()
		}
		_, werr := st.Write([]byte("x"))
		r.WriteErr = string(classify(g.impl, werr))
		if werr != nil {
			r.WriteText = werr.Error()
		}
		r.OK = r.ReadErr == string(kindReset)
	default:
		fail("behaviour", fmt.Errorf("unknown %q", beh))
	}
	if beh != "reset" {
		st.Close()
	}
	select {
	case g.resultCh(tag) <- r:
	default:
		g.logf("second report for stream %s: %v", tag, r)
	}
}

func (g *goPeerSession) Ping(ctx context.Context) (time.Duration, error) {
	return callCtx(ctx, g.s.Ping, nil)
}

func (g *goPeerSession) GoAway(ctx context.Context) error {
	_, err := callCtx(ctx, func() (struct{}, error) { return struct{}{}, g.s.GoAway() }, nil)
	return err
}

func (g *goPeerSession) Close(ctx context.Context) error {
	_, err := callCtx(ctx, func() (struct{}, error) { return struct{}{}, g.s.Close() }, nil)
	return err
}

func (g *goPeerSession) Alive(ctx context.Context) (bool, error) { return !g.s.IsClosed(), nil }

func (g *goPeerSession) Open(ctx context.Context, behaviour string, count, size int) (peerResult, error) {
	r := peerResult{Behaviour: behaviour}
	switch behaviour {
	case "echo-client":
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := 0; i < count; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := g.echoClient(ctx, i, size); err != nil {
					mu.Lock()
					r.Failed++
					if len(r.Failures) < 10 {
						r.Failures = append(r.Failures, err.Error())
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		r.OK = r.Failed == 0
		return r, nil
	case "probe":
		st, err := g.s.Open(ctx)
		opened := err == nil
		r.Opened = &opened
		r.OK = true
		if err != nil {
			r.Error, r.ErrKind = err.Error(), string(classify(g.impl, err))
			return r, nil
		}
		defer st.Close()
		st.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := st.Write([]byte("probe\n")); err != nil {
			r.Error, r.ErrKind = err.Error(), string(classify(g.impl, err))
			r.ReadErr = r.ErrKind
			return r, nil
		}
		st.CloseWrite()
		n, _, err := readAll(st)
		r.Bytes = n
		r.ReadErr = string(classify(g.impl, err))
		if err != nil {
			r.Error, r.ErrKind = err.Error(), r.ReadErr
		}
		return r, nil
	}
	return r, fmt.Errorf("unknown open behaviour %q", behaviour)
}

func (g *goPeerSession) echoClient(ctx context.Context, i, size int) error {
	st, err := g.s.Open(ctx)
	if err != nil {
		return fmt.Errorf("stream %d: open: %v", i, err)
	}
	defer st.Close()
	st.SetDeadline(deadlineCtx(ctx, peerStreamTimeout))
	type rr struct {
		n   int64
		sum string
		err error
	}
	ch := make(chan rr, 1)
	go func() {
		n, sum, err := readAll(st)
		ch <- rr{n, sum, err}
	}()
	want, err := writePattern(st, i*4099, size, 64<<10)
	if err == nil {
		err = st.CloseWrite()
	}
	if err != nil {
		st.Close()
		<-ch
		return fmt.Errorf("stream %d: write: %v", i, err)
	}
	got := <-ch
	if got.err != nil {
		return fmt.Errorf("stream %d: read echo: %v", i, got.err)
	}
	if got.n != int64(size) || got.sum != want {
		return fmt.Errorf("stream %d: echoed %d/%d bytes, checksum match %v", i, got.n, size, got.sum == want)
	}
	return nil
}

func (g *goPeerSession) Result(ctx context.Context, tag string) (peerResult, error) {
	select {
	case r := <-g.resultCh(tag):
		return r, nil
	case <-ctx.Done():
		return peerResult{}, fmt.Errorf("no result from the peer for stream %s: %w", tag, ctx.Err())
	}
}

func (g *goPeerSession) Shutdown() {
	g.once.Do(func() {
		g.s.Close()
		g.conn.Close()
		done := make(chan struct{})
		go func() { g.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			g.logf("peer goroutines still running 5s after shutdown")
		}
	})
}

func (g *goPeerSession) Diag() string {
	g.logMu.Lock()
	defer g.logMu.Unlock()
	return strings.Join(g.log, "\n")
}
