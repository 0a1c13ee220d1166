package yamux_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/yamuxgo/yamux"
)

// Fault cases of docs/hostile-peers.md about deadlines, unblocking and
// closing: deadlines on a full window (R18), blocked calls unblocked by
// every kind of close (R19), a concurrent close storm (R20) and panicking
// handlers (R21). The network faults R16–R17 are in faults_net_test.go,
// the load cases R14 and R25 in faults_load_test.go. Each test asserts the
// outcome and the case's figure, scaled down under -short. Real-time
// figures (TCP) are asserted with generous slack as failure guards only
// and logged as measured; exact figures are asserted on fake time inside
// synctest bubbles.

// TestR18_DeadlineFullWindow: on a stream whose send window is
// exhausted, SetWriteDeadline(now+50ms) makes Write return at exactly
// 50 ms (fake time) with a timeout net.Error wrapping
// os.ErrDeadlineExceeded, having queued whole frames only: after the
// deadline is cleared and the peer reads, the rest is written and every
// byte arrives intact with the peer's session still decoding. The
// SetReadDeadline variant likewise.
func TestR18_DeadlineFullWindow(t *testing.T) {
	const d = 50 * time.Millisecond
	t.Run("write", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			client, server := memSessions(t)
			st, err := client.OpenStream()
			if err != nil {
				t.Fatal(err)
			}
			sst, err := server.AcceptStream()
			if err != nil {
				t.Fatal(err)
			}
			data := patternBytes(18, 1<<20)
			st.SetWriteDeadline(time.Now().Add(d))
			start := time.Now()
			n, err := st.Write(data) // the peer does not read: 256 KiB go out
			took := time.Since(start)
			if n != yamux.InitialWindow {
				t.Errorf("Write = %d bytes before the deadline, want %d (the window)", n, yamux.InitialWindow)
			}
			expectTimeout(t, err, "Write")
			if took != d {
				t.Errorf("Write returned after %v, want exactly %v", took, d)
			}
			// The deadline stays in force until cleared.
			if k, err := st.Write(data[n:]); k != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("Write after the deadline = %d, %v; want 0, deadline exceeded", k, err)
			}
			st.SetWriteDeadline(time.Time{})
			got := make(chan []byte, 1)
			go func() {
				b, err := io.ReadAll(sst)
				if err != nil {
					t.Errorf("peer ReadAll: %v", err)
				}
				got <- b
			}()
			if k, err := st.Write(data[n:]); k != len(data)-n || err != nil {
				t.Errorf("Write after clearing the deadline = %d, %v; want %d, nil", k, err, len(data)-n)
			}
			st.CloseWrite()
			if b := <-got; !bytes.Equal(b, data) {
				t.Errorf("peer read %d bytes (equal %v), want the %d bytes written", len(b), bytes.Equal(b, data), len(data))
			}
			if client.Err() != nil || server.Err() != nil {
				t.Errorf("sessions ended: client %v, server %v; want both running", client.Err(), server.Err())
			}
		})
	})
	t.Run("read", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			client, server := memSessions(t)
			st, err := client.OpenStream()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.Write([]byte("a")); err != nil {
				t.Fatal(err)
			}
			sst, err := server.AcceptStream()
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 8)
			if k, err := sst.Read(buf); k != 1 || err != nil {
				t.Fatalf("Read = %d, %v; want 1, nil", k, err)
			}
			sst.SetReadDeadline(time.Now().Add(d))
			start := time.Now()
			k, err := sst.Read(buf)
			took := time.Since(start)
			if k != 0 {
				t.Errorf("Read = %d bytes, want 0", k)
			}
			expectTimeout(t, err, "Read")
			if took != d {
				t.Errorf("Read returned after %v, want exactly %v", took, d)
			}
			sst.SetReadDeadline(time.Time{})
			if _, err := st.Write([]byte("bc")); err != nil {
				t.Fatal(err)
			}
			if k, err := io.ReadFull(sst, buf[:2]); k != 2 || err != nil || string(buf[:2]) != "bc" {
				t.Errorf("Read after clearing the deadline = %q, %v; want %q, nil", buf[:k], err, "bc")
			}
		})
	})
}

// unblockCase is one call blocked on a stream and what should end it.
type unblockCase struct {
	what   string
	st     *yamux.Stream
	action func(*yamux.Stream) error // nil: only the session's Close ends it
	want   error
	done   chan error
}

// TestR19_ConcurrentUnblock: 50 goroutines blocked in Write (zero
// window) and 50 in Read; stream Close/CloseWrite/Reset, each from three
// goroutines, and session Close from eight. Every blocked call returns
// ErrStreamClosed, ErrStreamReset or ErrSessionShutdown as appropriate, at
// once (0 s of fake time, figure 10 ms); synctest reports any deadlock.
func TestR19_ConcurrentUnblock(t *testing.T) {
	for _, together := range []bool{false, true} {
		name := "streams-then-session"
		if together {
			name = "all-at-once"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { runR19(t, together) })
		})
	}
}

func runR19(t *testing.T, together bool) {
	client, server := memSessions(t)
	closeSt := func(st *yamux.Stream) error { return st.Close() }
	closeWrite := func(st *yamux.Stream) error { return st.CloseWrite() }
	reset := func(st *yamux.Stream) error { return st.Reset() }
	window := make([]byte, yamux.InitialWindow)
	var calls []*unblockCase
	for i := range 50 {
		st, err := client.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		if n, err := st.Write(window); n != yamux.InitialWindow || err != nil {
			t.Fatalf("Write(window) = %d, %v", n, err)
		}
		c := &unblockCase{what: fmt.Sprintf("Write on stream %d", st.StreamID()), st: st, done: make(chan error, 1)}
		switch i % 4 {
		case 0:
			c.action, c.want = closeSt, yamux.ErrStreamClosed
		case 1:
			c.action, c.want = closeWrite, yamux.ErrStreamClosed
		case 2:
			c.action, c.want = reset, yamux.ErrStreamReset
		default:
			c.want = yamux.ErrSessionShutdown
		}
		calls = append(calls, c)
		go func() {
			_, err := st.Write(window[:1024])
			c.done <- err
		}()
	}
	for i := range 50 {
		st, err := client.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		c := &unblockCase{what: fmt.Sprintf("Read on stream %d", st.StreamID()), st: st, done: make(chan error, 1)}
		switch i % 4 {
		case 0:
			c.action, c.want = closeSt, yamux.ErrStreamClosed
		case 1:
			c.action, c.want = reset, yamux.ErrStreamReset
		case 2:
			// CloseWrite does not end a Read: the session's Close does.
			c.action, c.want = closeWrite, yamux.ErrSessionShutdown
		default:
			c.want = yamux.ErrSessionShutdown
		}
		calls = append(calls, c)
		go func() {
			_, err := st.Read(make([]byte, 16))
			c.done <- err
		}()
	}
	synctest.Wait()
	for _, c := range calls {
		select {
		case err := <-c.done:
			t.Fatalf("%s returned before any close: %v", c.what, err)
		default:
		}
	}

	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range calls {
		if c.action == nil {
			continue
		}
		for range 3 {
			wg.Go(func() {
				if err := c.action(c.st); err != nil {
					t.Errorf("%s: close action returned %v, want nil", c.what, err)
				}
			})
		}
	}
	closeSession := func() {
		for i := range 8 {
			s := client
			if i%4 == 3 {
				s = server
			}
			wg.Go(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Session.Close = %v, want nil", err)
				}
			})
		}
	}
	results := make(map[*unblockCase]error)
	collect := func(c *unblockCase) bool {
		if _, ok := results[c]; ok {
			return true
		}
		select {
		case err := <-c.done:
			results[c] = err
			return true
		default:
			return false
		}
	}
	if !together {
		synctest.Wait()
		for _, c := range calls {
			ended := collect(c)
			switch {
			case c.want == yamux.ErrSessionShutdown && ended:
				t.Errorf("%s returned %v before the session closed, want it still blocked", c.what, results[c])
			case c.want != yamux.ErrSessionShutdown && !ended:
				t.Errorf("%s still blocked after its stream was closed, want %v", c.what, c.want)
			case ended && !errors.Is(results[c], c.want):
				t.Errorf("%s: err = %v, want %v", c.what, results[c], c.want)
			}
		}
	}
	closeSession()
	wg.Wait()
	synctest.Wait()
	if took := time.Since(start); took > 10*time.Millisecond {
		t.Errorf("blocked calls took %v (fake time) to return, want <= 10ms", took)
	}
	for _, c := range calls {
		if !collect(c) {
			t.Errorf("%s still blocked after the session closed", c.what)
			continue
		}
		err := results[c]
		if !errors.Is(err, c.want) && !(together && errors.Is(err, yamux.ErrSessionShutdown)) {
			t.Errorf("%s: err = %v, want %v", c.what, err, c.want)
		}
	}
	if !client.IsClosed() || !server.IsClosed() {
		t.Errorf("sessions closed: client %v, server %v; want both", client.IsClosed(), server.IsClosed())
	}
}

// TestR20_CloseStorm: on one session with 100 streams, 1000 goroutines
// concurrently call Session.Close, Stream.Close/Reset/CloseWrite,
// OpenStream, Write, Read and Accept, on both sides. No panic, no
// deadlock (each iteration is a synctest bubble: a durable deadlock fails
// it), Close idempotent, every error one of the documented ones, each
// iteration < 5 s of fake time. 50 iterations (10 with -short).
func TestR20_CloseStorm(t *testing.T) {
	iterations := 50
	if testing.Short() {
		iterations = 10
	}
	var slowest time.Duration
	for it := range iterations {
		start := time.Now()
		synctest.Test(t, func(t *testing.T) { runR20(t, uint64(it)) })
		slowest = max(slowest, time.Since(start))
		if t.Failed() {
			t.Fatalf("iteration %d failed", it)
		}
	}
	t.Logf("R20: %d iterations of 1000 goroutines, slowest %v real time", iterations, slowest)
}

func runR20(t *testing.T, seed uint64) {
	cfg := testConfig()
	// No keepalive: with only timers left, a durable deadlock is reported
	// by synctest instead of pinging on forever in fake time.
	cfg.EnableKeepAlive = false
	client, server := sessionPair(t, memPair, cfg, cfg)
	const streams, goroutines = 100, 1000
	var cs, ss []*yamux.Stream
	for range streams {
		st, err := client.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, st)
	}
	for range streams {
		st, err := server.AcceptStream()
		if err != nil {
			t.Fatal(err)
		}
		ss = append(ss, st)
	}

	allowed := func(err error) bool {
		return err == nil || err == io.EOF ||
			errors.Is(err, yamux.ErrSessionShutdown) || errors.Is(err, yamux.ErrStreamClosed) ||
			errors.Is(err, yamux.ErrStreamReset) || errors.Is(err, yamux.ErrRemoteGoAway)
	}
	var mu sync.Mutex
	var bad []string
	check := func(op string, err error) {
		if !allowed(err) {
			mu.Lock()
			bad = append(bad, fmt.Sprintf("%s: %v", op, err))
			mu.Unlock()
		}
	}
	start := time.Now()
	payload := make([]byte, 1024)
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(i)))
			sess, peer, sts := client, server, cs
			if r.IntN(2) == 1 {
				sess, peer, sts = server, client, ss
			}
			st := sts[r.IntN(len(sts))]
			for range r.IntN(50) {
				runtime.Gosched()
			}
			switch role := i % 20; {
			case i%100 == 0:
				for range r.IntN(200) {
					runtime.Gosched()
				}
				if err := sess.Close(); err != nil {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("Session.Close = %v, want nil", err))
					mu.Unlock()
				}
			case role < 3:
				check("Stream.Close", st.Close())
			case role < 5:
				check("Stream.Reset", st.Reset())
			case role < 7:
				check("Stream.CloseWrite", st.CloseWrite())
			case role < 10:
				nst, err := sess.OpenStream()
				check("OpenStream", err)
				if err == nil {
					_, err = nst.Write(payload)
					check("Write on a new stream", err)
					check("Close of a new stream", nst.Close())
				}
			case role < 15:
				_, err := st.Write(payload)
				check("Write", err)
			case role < 17:
				_, err := st.Read(make([]byte, 1024))
				check("Read", err)
			default:
				ast, err := peer.AcceptStream()
				check("AcceptStream", err)
				if err == nil {
					check("Close of an accepted stream", ast.Close())
				}
			}
		})
	}
	wg.Wait()
	// Close is idempotent.
	for _, s := range []*yamux.Session{client, server} {
		if err := s.Close(); err != nil {
			t.Errorf("second Close = %v, want nil", err)
		}
		if !s.IsClosed() {
			t.Errorf("session not closed after Close")
		}
	}
	if took := time.Since(start); took >= 5*time.Second {
		t.Errorf("iteration took %v of fake time, want < 5s", took)
	}
	for _, b := range bad {
		t.Errorf("unexpected error: %s", b)
	}
}

// TestR21_PanickingHandler shows the serve pattern the library leaves
// to the application: each accepted stream's handler runs in a goroutine
// with a deferred recover that resets the stream with the internal error
// code. One handler of 100 panics: only its stream is reset (code 2, seen
// by the peer), the other 99 echo with matching checksums, exactly one
// panic is recovered, and the session stays up.
func TestR21_PanickingHandler(t *testing.T) {
	const streams, victim, size = 100, 42, 64 * 1024
	client, server := sessionPair(t, tcpPair, testConfig(), testConfig())
	var panics atomic.Int32
	handle := func(st *yamux.Stream) {
		defer func() {
			if r := recover(); r != nil {
				panics.Add(1)
				t.Logf("handler for stream %d panicked: %v; stream reset with the internal error code", st.StreamID(), r)
				st.ResetWithError(uint32(yamux.CodeInternalError))
			}
		}()
		var cmd [1]byte
		if _, err := io.ReadFull(st, cmd[:]); err != nil {
			t.Errorf("handler read: %v", err)
			return
		}
		if cmd[0] == 'P' {
			panic("handler fault injected by the test")
		}
		if err := echoThenCloseWrite(st); err != nil {
			t.Errorf("handler echo: %v", err)
		}
		st.Close()
	}
	handlers := serveStreams(server, handle)

	var ok atomic.Int32
	var wg sync.WaitGroup
	for i := range streams {
		wg.Go(func() {
			st, err := client.OpenStream()
			if err != nil {
				t.Errorf("OpenStream: %v", err)
				return
			}
			defer st.Close()
			cmd := byte('E')
			if i == victim {
				cmd = 'P'
			}
			data := patternBytes(uint64(i), size)
			if _, err := st.Write(append([]byte{cmd}, data...)); err != nil && !(i == victim && errors.Is(err, yamux.ErrStreamReset)) {
				t.Errorf("stream #%d: Write: %v", i, err)
				return
			}
			st.CloseWrite()
			h := sha256.New()
			n, err := io.Copy(h, st)
			if i == victim {
				var se *yamux.StreamError
				if !errors.As(err, &se) || se.Code != uint32(yamux.CodeInternalError) || !se.Remote {
					t.Errorf("victim stream: read err = %v, want a remote *StreamError with code %d", err, yamux.CodeInternalError)
				}
				return
			}
			want := sha256.Sum256(data)
			if err != nil || n != size || !bytes.Equal(h.Sum(nil), want[:]) {
				t.Errorf("stream #%d: echo %d bytes, %v, checksum match %v; want %d bytes, nil, match",
					i, n, err, bytes.Equal(h.Sum(nil), want[:]), size)
				return
			}
			ok.Add(1)
		})
	}
	waitGroup(t, &wg, time.Minute, "client streams")
	if got := ok.Load(); got != streams-1 {
		t.Errorf("%d/%d other streams matched their checksums, want %d/%d", got, streams-1, streams-1, streams-1)
	}
	if got := panics.Load(); got != 1 {
		t.Errorf("%d handler panics recovered, want exactly 1", got)
	}
	if server.IsClosed() || client.IsClosed() {
		t.Errorf("session closed after a handler panic: server %v, client %v", server.Err(), client.Err())
	}
	if _, err := client.Ping(); err != nil {
		t.Errorf("Ping after the handler panic: %v", err)
	}
	client.Close()
	server.Close()
	waitGroup(t, handlers, 10*time.Second, "server handlers")
}
