//go:build !nocore

package interop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	hashicorp "github.com/hashicorp/yamux"
	goyamux "github.com/libp2p/go-yamux/v5"
	yamux "github.com/yamuxgo/yamux"
)

// TestDifferential replays a representative set of hostile inputs
// (../docs/hostile-peers.md, A1–A14) against three Yamux *server*
// implementations — ours, hashicorp/yamux v0.1.2 and go-yamux v5.1.0 —
// using the same raw-frame script client (script_test.go) over 127.0.0.1
// TCP, and records how each reacts: the first frame it sends back, RSTs,
// GO_AWAY codes, whether and how fast it closes the connection, and the
// goroutine and memory growth in this process (all three servers run
// in-process).
//
// The table is printed with t.Log (and written as markdown to
// $INTEROP_DIFF_TABLE if set). Only our implementation's required behaviour
// is asserted; the others are third-party and only documented
// (docs/robustness.md).
func TestDifferential(t *testing.T) {
	impls := []string{"ours", "hashicorp", "goyamux"}
	var results []*diffRun
	for _, dc := range diffCases() {
		t.Run(dc.slug, func(t *testing.T) {
			for _, name := range impls {
				t.Run(name, func(t *testing.T) {
					x := runDiffCase(t, name, dc)
					results = append(results, x)
					t.Logf("%s: %s", name, x.verdict())
					if name == "ours" && dc.want != nil {
						dc.want(t, x)
					}
				})
			}
		})
	}
	md := diffMarkdown(results, impls)
	t.Log("\n" + md)
	if path := os.Getenv("INTEROP_DIFF_TABLE"); path != "" {
		if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
			t.Errorf("INTEROP_DIFF_TABLE: %v", err)
		}
	}
}

// ------------------------------------------------------------ servers

type diffStream interface {
	io.ReadWriteCloser
	SetDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// diffOpts are the timing knobs a case may set. Zero means the library's
// default. hashicorp and go-yamux have no keepalive timeout of their own:
// their keepalive Ping waits ConnectionWriteTimeout for the pong, so
// pingTimeout sets that for them.
type diffOpts struct {
	keepAlive    time.Duration
	pingTimeout  time.Duration
	writeTimeout time.Duration
}

type diffServer struct {
	lib     impl
	ours    *yamux.Session // nil for the other implementations
	accept  func() (diffStream, error)
	closeCh <-chan struct{}
	close   func() error
}

// newDiffServer starts a server session with the library's default limits
// (AcceptBacklog 256 everywhere; MaxIncomingStreams 1000 for ours and
// go-yamux; hashicorp has none), logging off.
func newDiffServer(name string, conn net.Conn, o diffOpts) (*diffServer, error) {
	switch name {
	case "ours":
		cfg := yamux.DefaultConfig()
		if o.keepAlive > 0 {
			cfg.KeepAliveInterval = o.keepAlive
		}
		if o.pingTimeout > 0 {
			cfg.KeepAliveTimeout = o.pingTimeout
		}
		if o.writeTimeout > 0 {
			cfg.ConnectionWriteTimeout = o.writeTimeout
		}
		s, err := yamux.Server(conn, cfg)
		if err != nil {
			return nil, err
		}
		return &diffServer{lib: oursImpl{}, ours: s, closeCh: s.CloseChan(), close: s.Close,
			accept: func() (diffStream, error) {
				st, err := s.AcceptStream()
				if err != nil {
					return nil, err
				}
				return st, nil
			}}, nil
	case "hashicorp":
		cfg := hashicorp.DefaultConfig()
		cfg.LogOutput = io.Discard
		if o.keepAlive > 0 {
			cfg.KeepAliveInterval = o.keepAlive
		}
		if o.pingTimeout > 0 {
			cfg.ConnectionWriteTimeout = o.pingTimeout
		}
		if o.writeTimeout > 0 {
			cfg.ConnectionWriteTimeout = o.writeTimeout
		}
		s, err := hashicorp.Server(conn, cfg)
		if err != nil {
			return nil, err
		}
		return &diffServer{lib: hashicorpImpl{}, closeCh: s.CloseChan(), close: s.Close,
			accept: func() (diffStream, error) {
				st, err := s.AcceptStream()
				if err != nil {
					return nil, err
				}
				return st, nil
			}}, nil
	case "goyamux":
		cfg := goyamux.DefaultConfig()
		cfg.LogOutput = io.Discard
		if o.keepAlive > 0 {
			cfg.KeepAliveInterval = o.keepAlive
		}
		if o.pingTimeout > 0 {
			cfg.ConnectionWriteTimeout = o.pingTimeout
		}
		if o.writeTimeout > 0 {
			cfg.ConnectionWriteTimeout = o.writeTimeout
		}
		s, err := goyamux.Server(conn, cfg, nil)
		if err != nil {
			return nil, err
		}
		return &diffServer{lib: goyamuxImpl{}, closeCh: s.CloseChan(), close: s.Close,
			accept: func() (diffStream, error) {
				st, err := s.AcceptStream()
				if err != nil {
					return nil, err
				}
				return st, nil
			}}, nil
	}
	return nil, fmt.Errorf("unknown implementation %q", name)
}

// diffApp is the server application: it accepts every stream and reads it;
// a stream whose first byte is 'w' gets 1 MiB written back. Everything it
// does is bounded by deadlines and ends with the session.
type diffApp struct {
	wg     sync.WaitGroup
	writes chan diffWrite
}

type diffWrite struct {
	n   int
	err error
}

func (a *diffApp) serve(srv *diffServer) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		for {
			st, err := srv.accept()
			if err != nil {
				return
			}
			a.wg.Add(1)
			go func() {
				defer a.wg.Done()
				a.handle(st)
			}()
		}
	}()
}

func (a *diffApp) handle(st diffStream) {
	defer st.Close()
	st.SetDeadline(time.Now().Add(6 * time.Second))
	b := make([]byte, 1)
	if _, err := io.ReadFull(st, b); err != nil {
		return
	}
	if b[0] == 'w' {
		st.SetWriteDeadline(time.Now().Add(3 * time.Second))
		n, err := st.Write(make([]byte, 1<<20))
		select {
		case a.writes <- diffWrite{n, err}:
		default:
		}
	}
	io.Copy(io.Discard, st)
}

// --------------------------------------------------------------- one run

// diffRun is one (case, implementation) pair: a fresh TCP connection, a
// fresh server session, the script peer as client, and what was observed.
type diffRun struct {
	t        *testing.T
	c        *diffCase
	impl     string
	srv      *diffServer
	sp       *scriptPeer
	app      *diffApp
	baseG    int
	baseMem  uint64
	attackAt time.Time

	// observations
	frames   []sframe // what the server sent after the attack, PINGs excluded
	pongSeen bool     // the probe PING was answered: the session reads and writes
	closed   bool
	closedIn time.Duration // from the end of the attack write to the connection's end
	gDelta   int
	memDelta int64
	write    *diffWrite // the server application's 1 MiB Write, when the case waits for it
	notes    []string
}

const diffProbe = 0xd1ff

func (x *diffRun) note(format string, args ...any) {
	x.notes = append(x.notes, fmt.Sprintf(format, args...))
}

func runDiffCase(t *testing.T, name string, dc *diffCase) *diffRun {
	t.Helper()
	lib, _ := lookupImpl(name)
	before := libGoroutines(lib)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	scriptConn, serverConn, err := tcpPair(ctx) // the script dials, the server listens
	if err != nil {
		t.Fatalf("TCP loopback pair: %v", err)
	}
	if dc.smallBuffers {
		// A3: make the server's pongs back up quickly when the script
		// does not read (same setting for every implementation).
		scriptConn.(*net.TCPConn).SetReadBuffer(4096)
		serverConn.(*net.TCPConn).SetWriteBuffer(4096)
	}
	srv, err := newDiffServer(name, serverConn, dc.opts)
	if err != nil {
		scriptConn.Close()
		serverConn.Close()
		t.Fatalf("%s server: %v", name, err)
	}
	x := &diffRun{t: t, c: dc, impl: name, srv: srv, sp: newScriptPeer(t, scriptConn), app: &diffApp{writes: make(chan diffWrite, 16)}}
	if dc.serve {
		x.app.serve(srv)
	}
	t.Cleanup(func() {
		closed := make(chan struct{})
		go func() {
			defer close(closed)
			srv.close()
		}()
		select {
		case <-closed:
		case <-time.After(5 * time.Second):
			t.Errorf("HANG: %s Session.Close did not return within 5s", name)
		}
		scriptConn.Close()
		serverConn.Close()
		appDone := make(chan struct{})
		go func() {
			defer close(appDone)
			x.app.wg.Wait()
		}()
		select {
		case <-appDone:
		case <-time.After(5 * time.Second):
			t.Errorf("HANG: the %s server application did not end within 5s of Close", name)
		}
		if leaked := waitLibGoroutines(lib, before, 5*time.Second); leaked != "" {
			t.Errorf("goroutines of %s left behind:\n%s", name, leaked)
		}
	})
	dc.run(x)
	return x
}

// memInUse is heap plus goroutine stacks, after a GC.
func memInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse
}

func (x *diffRun) baseline() {
	x.baseMem = memInUse()
	x.baseG = runtime.NumGoroutine()
}

func (x *diffRun) measure() {
	x.gDelta = runtime.NumGoroutine() - x.baseG
	x.memDelta = int64(memInUse()) - int64(x.baseMem)
}

// open opens stream id from the script and waits for the server's ACK (the
// server application accepts it).
func (x *diffRun) open(id uint32) {
	x.t.Helper()
	x.sp.mustWrite(scWU(flagSYN, id, 0))
	x.sp.expect(3*time.Second, fmt.Sprintf("the %s server's ACK for stream %d", x.impl, id), func(f sframe) bool {
		return f.id == id && f.flags&flagACK != 0
	})
}

// attack writes the hostile frames in one write and starts the clock.
func (x *diffRun) attack(frames ...[]byte) {
	if err := x.sp.write(frames...); err != nil {
		x.note("attack write failed: %v", err)
	}
	x.attackAt = time.Now()
}

// observe sends the probe PING (if probe), then reads until the probe's pong,
// the connection's end, or d. It records what the server sent.
func (x *diffRun) observe(d time.Duration, probe bool) {
	if probe {
		_ = x.sp.write(scPing(flagSYN, diffProbe))
	}
	x.record(x.collectProbe(time.Now().Add(d), probe))
	x.finish()
}

// diffGrace is how long the script keeps reading after the probe's pong:
// some servers answer from other goroutines (the accepting application,
// a separate pong queue), so their frames may trail the pong.
const diffGrace = 150 * time.Millisecond

// collectProbe reads until the probe's pong (plus diffGrace), the
// connection's end or the deadline.
func (x *diffRun) collectProbe(deadline time.Time, probe bool) []sframe {
	frames, err := x.sp.collect(deadline, func(f sframe) bool {
		return probe && f.is(typePing, flagACK) && f.length == diffProbe
	})
	if err == nil {
		more, _ := x.sp.collect(time.Now().Add(diffGrace), nil)
		frames = append(frames, more...)
	}
	return frames
}

func (x *diffRun) record(frames []sframe) {
	for _, f := range frames {
		if f.typ == typePing {
			if f.is(typePing, flagACK) && f.length == diffProbe {
				x.pongSeen = true
			}
			continue
		}
		x.frames = append(x.frames, f)
	}
}

// finish records whether the connection ended, and the growth.
func (x *diffRun) finish() {
	if x.sp.readErr != nil && !x.closed {
		x.closed = true
		x.closedIn = x.sp.eofAt.Sub(x.attackAt)
	}
	if !x.closed {
		select {
		case <-x.srv.closeCh:
			x.closed = true
			x.closedIn = time.Since(x.attackAt)
			x.note("session closed, connection not yet")
		default:
		}
	}
	x.measure()
}

func (x *diffRun) count(match func(sframe) bool) int {
	n := 0
	for _, f := range x.frames {
		if match(f) {
			n++
		}
	}
	return n
}

func (x *diffRun) goAways() []uint32 {
	var out []uint32
	for _, f := range x.frames {
		if f.typ == typeGoAway {
			out = append(out, f.length)
		}
	}
	return out
}

func (x *diffRun) first() string {
	if len(x.frames) == 0 {
		return "none"
	}
	return x.frames[0].String()
}

func (x *diffRun) rsts() int {
	return x.count(func(f sframe) bool { return f.flags&flagRST != 0 && f.typ <= typeWU })
}

func roundDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	case d < 100*time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

func (x *diffRun) closedText() string {
	if !x.closed {
		return "no"
	}
	return "after " + roundDur(x.closedIn)
}

// verdict is the one-line summary for the table.
func (x *diffRun) verdict() string {
	var parts []string
	ga := x.goAways()
	switch {
	case len(ga) > 0 && x.closed:
		parts = append(parts, fmt.Sprintf("GO_AWAY(%#x), then close", ga[0]))
	case len(ga) > 0:
		parts = append(parts, fmt.Sprintf("GO_AWAY(%#x), connection left open", ga[0]))
	case x.closed:
		parts = append(parts, "closes without GO_AWAY")
	case x.pongSeen:
		parts = append(parts, "session alive")
	default:
		parts = append(parts, "no answer to the probe PING: stuck")
	}
	parts = append(parts, x.notes...)
	return strings.Join(parts, "; ")
}

func mib(n int64) string {
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%s%.1f MiB", sign, float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%s%d KiB", sign, n>>10)
	}
	return fmt.Sprintf("%s%d B", sign, n)
}

// -------------------------------------------------------------- the cases

type diffCase struct {
	slug         string // subtest name
	label        string // table row
	opts         diffOpts
	serve        bool // run the accept-and-read server application
	smallBuffers bool
	run          func(x *diffRun)
	want         func(t *testing.T, x *diffRun) // our required behaviour
}

// wantGoAwayClose: GO_AWAY(1) is the first frame back, the connection is
// closed, and our Err() matches each of errs.
func wantGoAwayClose(errs ...error) func(t *testing.T, x *diffRun) {
	return func(t *testing.T, x *diffRun) {
		t.Helper()
		if ga := x.goAways(); len(ga) != 1 || ga[0] != 1 || x.frames[0].typ != typeGoAway {
			t.Errorf("frames back: got %v, want GO_AWAY(1) first and only", x.frames)
		}
		if !x.closed {
			t.Errorf("connection still open after the protocol error, want it closed")
		}
		err := x.srv.ours.Err()
		for _, want := range append([]error{yamux.ErrSessionShutdown, yamux.ErrProtocol}, errs...) {
			if !errors.Is(err, want) {
				t.Errorf("our Err(): got %v, want it to match %v", err, want)
			}
		}
	}
}

func wantAlive(t *testing.T, x *diffRun) {
	t.Helper()
	if !x.pongSeen || x.closed {
		t.Errorf("session: pong seen %v, closed %v (Err %v); want alive", x.pongSeen, x.closed, x.srv.ours.Err())
	}
	if ga := x.goAways(); len(ga) > 0 {
		t.Errorf("got GO_AWAY %v, want none", ga)
	}
}

func diffCases() []*diffCase {
	synFlood, pingFlood := 5000, 20000
	if testing.Short() {
		synFlood, pingFlood = 2000, 5000
	}
	big := make([]byte, 262145)
	return []*diffCase{
		{
			slug: "A1-syn-flood", label: fmt.Sprintf("A1 %d SYNs, no Accept", synFlood),
			run: func(x *diffRun) {
				var flood []byte
				for i := range synFlood {
					flood = append(flood, scWU(flagSYN, uint32(2*i+1), 0)...)
				}
				x.baseline()
				x.attackAt = time.Now()
				wrote := make(chan error, 1)
				go func() { // flood, then probe; the main goroutine reads meanwhile
					err := x.sp.write(flood)
					if err == nil {
						err = x.sp.write(scPing(flagSYN, diffProbe))
					}
					wrote <- err
				}()
				frames := x.collectProbe(time.Now().Add(8*time.Second), true)
				if err := <-wrote; err != nil {
					x.note("flood write: %v", err)
				}
				x.record(frames)
				x.finish()
				r := x.rsts()
				x.note("%d RST, %d pending", r, synFlood-r)
			},
			want: func(t *testing.T, x *diffRun) {
				wantAlive(t, x)
				if got, want := x.rsts(), synFlood-256; got != want {
					t.Errorf("RSTs: got %d, want %d (AcceptBacklog 256)", got, want)
				}
				if x.gDelta > 4 {
					t.Errorf("goroutines: got +%d, want at most +4 (none per stream)", x.gDelta)
				}
				if x.memDelta > 32<<20 {
					t.Errorf("memory: got +%s, want < 32 MiB", mib(x.memDelta))
				}
			},
		},
		{
			slug: "A3-ping-flood-no-read", label: fmt.Sprintf("A3 %d PINGs, attacker does not read", pingFlood),
			opts: diffOpts{writeTimeout: time.Second}, smallBuffers: true,
			run: func(x *diffRun) {
				x.sp.answerPings = false
				const per = 250
				var chunk []byte
				for i := range per {
					chunk = append(chunk, scPing(flagSYN, uint32(i))...)
				}
				x.baseline()
				x.attackAt = time.Now()
				peak, sent, mem := 0, 0, int64(0)
				sample := func() {
					// Peak memory without a GC: the goroutines of a
					// per-PING design live only for ConnectionWriteTimeout.
					peak = max(peak, runtime.NumGoroutine()-x.baseG)
					var m runtime.MemStats
					runtime.ReadMemStats(&m)
					mem = max(mem, int64(m.HeapAlloc+m.StackInuse)-int64(x.baseMem))
				}
				stopAt := time.Now().Add(3 * time.Second)
				for sent < pingFlood {
					x.sp.conn.SetWriteDeadline(stopAt)
					if _, err := x.sp.conn.Write(chunk); err != nil {
						x.note("server stopped reading: only %d PINGs could be written", sent)
						break
					}
					sent += per
					sample()
				}
				floodEnd := time.Now()
				// The server's writes are now stuck on the full socket; watch
				// for its write timeout (1 s) for up to 2.5 s.
				watch := time.NewTicker(20 * time.Millisecond)
				defer watch.Stop()
				limit := time.After(2500 * time.Millisecond)
			wait:
				for {
					select {
					case <-x.srv.closeCh:
						x.closed = true
						x.closedIn = time.Since(floodEnd)
						break wait
					case <-watch.C:
						sample()
					case <-limit:
						break wait
					}
				}
				// Now read again, and probe: does the session recover? (A
				// normal receive buffer again: with 4 KiB, below the loopback
				// MSS, TCP would pace the catch-up with zero-window probes.)
				x.sp.conn.(*net.TCPConn).SetReadBuffer(1 << 20)
				pongs := 0
				probe := func(d time.Duration) {
					if !x.closed {
						_ = x.sp.write(scPing(flagSYN, diffProbe))
					}
					frames := x.collectProbe(time.Now().Add(d), !x.closed)
					x.record(frames)
					if x.sp.readErr != nil && !x.closed {
						x.closed, x.closedIn = true, x.sp.eofAt.Sub(floodEnd)
					}
					for _, f := range frames {
						if f.is(typePing, flagACK) && f.length != diffProbe {
							pongs++
						}
					}
				}
				probe(1500 * time.Millisecond)
				if !x.closed && !x.pongSeen {
					x.note("the first probe PING after the flood was never answered (pong dropped)")
					probe(1500 * time.Millisecond)
				}
				x.gDelta, x.memDelta = peak, mem
				x.note("peak +%d goroutines; %d of %d flood PINGs answered", peak, pongs, sent)
			},
			want: func(t *testing.T, x *diffRun) {
				if x.gDelta > 4 {
					t.Errorf("goroutines during the flood: got +%d, want at most +4 (none per PING)", x.gDelta)
				}
				if x.memDelta > 4<<20 {
					t.Errorf("memory during the flood: got +%s, want < 4 MiB (pending pongs are capped)", mib(x.memDelta))
				}
				if !x.closed {
					t.Errorf("session still open 2.5s after the flood; want it closed by ConnectionWriteTimeout (1s)")
				}
				if err := x.srv.ours.Err(); !errors.Is(err, yamux.ErrConnectionWriteTimeout) {
					t.Errorf("our Err(): got %v, want ErrConnectionWriteTimeout", err)
				}
			},
		},
		{
			slug: "A5-window-overflow", label: "A5 WINDOW_UPDATE 0xFFFF0000 twice",
			serve: true,
			run: func(x *diffRun) {
				x.open(1)
				x.baseline()
				x.attack(scWU(0, 1, 0xFFFF0000), scWU(0, 1, 0xFFFF0000), scData(0, 1, []byte("w")))
				x.observe(2*time.Second, true)
				more, _ := x.sp.collect(time.Now().Add(400*time.Millisecond), nil)
				x.record(more)
				x.finish()
				var sent int64
				for _, f := range x.frames {
					if f.id == 1 && f.typ == typeData {
						sent += int64(f.length)
					}
				}
				if !x.closed {
					x.note("then wrote %s of a 1 MiB Write and stalled (window wrapped to 256 KiB+2×0xFFFF0000 mod 2^32 = 128 KiB)", mib(sent))
				}
			},
			want: wantGoAwayClose(),
		},
		{
			slug: "A7-data-beyond-window", label: "A7 DATA of 262,145 bytes on an open stream",
			serve: true,
			run: func(x *diffRun) {
				x.open(1)
				x.baseline()
				x.attack(scData(0, 1, big))
				x.observe(2*time.Second, true)
			},
			want: wantGoAwayClose(yamux.ErrRecvWindowExceeded),
		},
		{
			slug: "A7-syn-data-262145", label: "A7 DATA|SYN with a 262,145-byte body",
			serve: true,
			run: func(x *diffRun) {
				x.baseline()
				x.attack(scData(flagSYN, 1, big))
				x.observe(2*time.Second, true)
			},
			want: wantGoAwayClose(yamux.ErrRecvWindowExceeded),
		},
		{
			slug: "A8-length-max-open", label: "A8 DATA Length 0xFFFFFFFF, open stream",
			serve: true,
			run: func(x *diffRun) {
				x.open(1)
				x.baseline()
				x.attack(scRaw(0, typeData, 0, 1, 0xFFFFFFFF), make([]byte, 16))
				x.observe(1500*time.Millisecond, true)
			},
			want: wantGoAwayClose(),
		},
		{
			slug: "A8-length-max-unknown", label: "A8 DATA Length 0xFFFFFFFF, unknown stream",
			serve: true,
			run: func(x *diffRun) {
				x.baseline()
				x.attack(scRaw(0, typeData, 0, 99, 0xFFFFFFFF), make([]byte, 16))
				x.observe(time.Second, true)
				if !x.closed && !x.pongSeen {
					x.note("its reader is discarding a 4 GiB body")
				}
			},
			want: wantGoAwayClose(),
		},
		{
			slug: "A9-version-1", label: "A9 version 1",
			run: func(x *diffRun) {
				x.baseline()
				x.attack(scRaw(1, typePing, flagSYN, 0, 7))
				x.observe(1500*time.Millisecond, true)
			},
			want: wantGoAwayClose(yamux.ErrInvalidVersion),
		},
		{
			slug: "A9-type-4", label: "A9 type 4",
			run: func(x *diffRun) {
				x.baseline()
				x.attack(scRaw(0, 4, 0, 0, 0))
				x.observe(1500*time.Millisecond, true)
			},
			want: wantGoAwayClose(yamux.ErrInvalidMsgType),
		},
		{
			slug: "A10-syn-stream-0", label: "A10 SYN on stream 0",
			serve: true,
			run: func(x *diffRun) {
				x.baseline()
				x.attack(scWU(flagSYN, 0, 0))
				x.observe(1500*time.Millisecond, true)
				if n := x.count(func(f sframe) bool { return f.id == 0 && f.flags&flagACK != 0 }); n > 0 {
					x.note("stream 0 created and ACKed")
				}
			},
			want: wantGoAwayClose(),
		},
		{
			slug: "A10-syn-wrong-parity", label: "A10 SYN with the server's parity (id 2)",
			serve: true,
			run: func(x *diffRun) {
				x.baseline()
				x.attack(scWU(flagSYN, 2, 0))
				x.observe(1500*time.Millisecond, true)
				if n := x.count(func(f sframe) bool { return f.id == 2 && f.flags&flagACK != 0 }); n > 0 {
					x.note("stream 2 created and ACKed")
				}
			},
			want: wantGoAwayClose(),
		},
		{
			slug: "A10-syn-duplicate", label: "A10 second SYN for live stream 1",
			serve: true,
			run: func(x *diffRun) {
				x.open(1)
				x.baseline()
				x.attack(scWU(flagSYN, 1, 0))
				x.observe(1500*time.Millisecond, true)
			},
			want: wantGoAwayClose(),
		},
		{
			slug: "A11-unknown-streams", label: "A11 ACK/FIN/RST/WU/DATA for 50 unknown ids",
			serve: true,
			run: func(x *diffRun) {
				x.open(1)
				var frames [][]byte
				for i := range 50 {
					id := uint32(101 + 2*i)
					frames = append(frames, scWU(flagACK, id, 0), scWU(flagFIN, id, 0), scWU(flagRST, id, 0),
						scWU(0, id, 4096), scData(0, id, make([]byte, 100)), scData(flagFIN, id, []byte("x")))
				}
				x.baseline()
				x.attack(frames...)
				x.observe(1500*time.Millisecond, true)
				x.note("%d frames in reply", len(x.frames))
			},
			want: func(t *testing.T, x *diffRun) {
				wantAlive(t, x)
				if len(x.frames) > 0 {
					t.Errorf("frames in reply: got %v, want none", x.frames)
				}
			},
		},
		{
			slug: "A12-goaway-then-syn", label: "A12 GO_AWAY(0), then SYNs 3 and 5 (stream 1 live)",
			serve: true,
			run: func(x *diffRun) {
				x.open(1)
				x.baseline()
				x.attack(scGoAway(0), scWU(flagSYN, 3, 0), scData(flagSYN, 5, []byte("hello")))
				x.observe(1500*time.Millisecond, true)
				for _, id := range []uint32{3, 5} {
					switch {
					case x.count(func(f sframe) bool { return f.id == id && f.flags&flagRST != 0 }) > 0:
						x.note("SYN %d: RST", id)
					case x.count(func(f sframe) bool { return f.id == id && f.flags&flagACK != 0 }) > 0:
						x.note("SYN %d: accepted (ACK)", id)
					default:
						x.note("SYN %d: no answer", id)
					}
				}
			},
			want: func(t *testing.T, x *diffRun) {
				wantAlive(t, x)
				for _, id := range []uint32{3, 5} {
					if x.count(func(f sframe) bool { return f.id == id && f.is(typeWU, flagRST) }) != 1 {
						t.Errorf("SYN %d after the peer's GO_AWAY(0): got frames %v, want one WINDOW_UPDATE|RST", id, x.frames)
					}
				}
			},
		},
		{
			slug: "A14-stall-mid-frame", label: "A14 stall mid-frame (keepalive 200 ms / 200 ms)",
			opts:  diffOpts{keepAlive: 200 * time.Millisecond, pingTimeout: 200 * time.Millisecond},
			serve: true,
			run: func(x *diffRun) {
				x.open(1)
				x.sp.answerPings = false
				x.baseline()
				x.attack(scRaw(0, typeData, 0, 1, 1000), make([]byte, 10))
				x.observe(3*time.Second, false)
			},
			want: func(t *testing.T, x *diffRun) {
				if !x.closed {
					t.Fatalf("session still open 3s after the stall; want closed by keepalive")
				}
				if err := x.srv.ours.Err(); !errors.Is(err, yamux.ErrKeepAliveTimeout) {
					t.Errorf("our Err(): got %v, want ErrKeepAliveTimeout", err)
				}
			},
		},
		{
			slug: "RST-code-on-window-update", label: "WINDOW_UPDATE|RST Length 0x1005 while the server's Write waits for window",
			serve: true,
			run: func(x *diffRun) {
				x.open(1)
				x.sp.mustWrite(scData(0, 1, []byte("w")))
				got := 0
				x.sp.expect(3*time.Second, "256 KiB of the server's DATA", func(f sframe) bool {
					if f.id == 1 && f.typ == typeData {
						got += len(f.body)
					}
					return got >= initialWindow
				})
				x.baseline()
				x.attack(scWU(flagRST, 1, 0x1005))
				x.observe(1500*time.Millisecond, true)
				more, _ := x.sp.collect(time.Now().Add(300*time.Millisecond), nil)
				x.record(more)
				x.finish()
				after := 0
				for _, f := range x.frames {
					if f.id == 1 && f.typ == typeData {
						after += len(f.body)
					}
				}
				select {
				case w := <-x.app.writes:
					x.write = &w
					x.note("server Write: n=%s, %s; DATA after the RST: %d B", mib(int64(w.n)), describeResetErr(w.err), after)
				case <-time.After(3 * time.Second):
					x.note("server Write still blocked 3s after the RST")
				}
			},
			want: func(t *testing.T, x *diffRun) {
				wantAlive(t, x)
				for _, f := range x.frames {
					if f.id == 1 {
						t.Errorf("after the RST we sent %v on stream 1; want nothing", f)
					}
				}
				if x.write == nil {
					t.Fatalf("our server's Write did not return within 3s of the RST")
				}
				if x.write.n != initialWindow {
					t.Errorf("our server's Write: n=%d, want %d (the window, nothing credited by the RST)", x.write.n, initialWindow)
				}
				var se *yamux.StreamError
				if !errors.As(x.write.err, &se) || se.Code != 0x1005 || !se.Remote || se.StreamID != 1 {
					t.Errorf("our server's Write error: got %v, want StreamError{StreamID: 1, Code: 0x1005, Remote: true}", x.write.err)
				}
			},
		},
	}
}

// describeResetErr names a Write error after a RST, and the code if the
// library exposes it.
func describeResetErr(err error) string {
	var ours *yamux.StreamError
	var gy *goyamux.StreamError
	switch {
	case err == nil:
		return "no error"
	case errors.As(err, &ours):
		if !ours.Remote {
			return fmt.Sprintf("StreamError code %#x (local?)", ours.Code)
		}
		return fmt.Sprintf("StreamError code %#x", ours.Code)
	case errors.As(err, &gy):
		return fmt.Sprintf("StreamError code %#x", gy.ErrorCode)
	case errors.Is(err, hashicorp.ErrConnectionReset):
		return "ErrConnectionReset (code not exposed)"
	}
	return fmt.Sprintf("%v", err)
}

// ------------------------------------------------------------------ table

func diffMarkdown(runs []*diffRun, impls []string) string {
	var b strings.Builder
	b.WriteString("| case | implementation | first frame back | RSTs | connection closed | goroutines Δ | memory Δ | verdict |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, x := range runs {
		first := x.first()
		if n := len(x.frames); n > 1 {
			first += fmt.Sprintf(" (+%d more)", n-1)
		}
		esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %s | %+d | %s | %s |\n",
			esc(x.c.label), x.impl, esc(first), x.rsts(), x.closedText(), x.gDelta, mib(x.memDelta), esc(x.verdict()))
	}
	return b.String()
}
