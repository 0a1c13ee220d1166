package yamux_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/yamuxgo/yamux"
)

// Fault and load cases of /work/shared/docs/hostile-peers.md (R14, R16–R21,
// R25). Each test asserts the outcome and the case's figure, scaled down
// under -short. Real-time figures (TCP) are asserted with generous slack
// as failure guards only and logged as measured; exact figures are
// asserted on fake time inside synctest bubbles.

// rttSlack is the lower-bound tolerance of R16: if a keepalive ping
// was in flight when the blackhole began, the check fires P after that
// ping was sent, i.e. up to one loopback RTT less than P after the
// blackhole. With K == P the lower bound K therefore holds up to one RTT.
const rttSlack = 20 * time.Millisecond

// TestFaultBlackholeKeepaliveR16: a half-open connection (blackhole proxy,
// no FIN, no RST) while 10 Reads, 10 Writes (zero window), 1 AcceptStream
// and 1 OpenStreamContext (full ACK backlog) are blocked. Every call must
// fail with a net.Error whose Timeout() is true (the session's
// ErrKeepAliveTimeout) within [K, (K+P)·1.2] of the blackhole; the upper
// bound is asserted with 3x slack (real time).
func TestFaultBlackholeKeepaliveR16(t *testing.T) {
	const k, p = 500 * time.Millisecond, 500 * time.Millisecond
	cfg := testConfig()
	cfg.KeepAliveInterval = k
	cfg.KeepAliveTimeout = p
	cc, sc, proxy := faultDialPair(t)
	client, server := sessionsOn(t, cc, sc, cfg, cfg)
	if _, err := client.Ping(); err != nil {
		t.Fatalf("Ping before the fault: %v", err)
	}

	// 10 streams whose Reads block (the peer never writes) and 10 whose
	// send windows are exhausted (the peer never reads). The server never
	// accepts, so no stream is ACKed: with 236 more opens the 256-slot ACK
	// backlog is full and the next OpenStreamContext blocks.
	var readers, writers []*yamux.Stream
	window := make([]byte, yamux.InitialWindow)
	for range 10 {
		st, err := client.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		readers = append(readers, st)
	}
	for range 10 {
		st, err := client.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		if n, err := st.Write(window); n != yamux.InitialWindow || err != nil {
			t.Fatalf("Write(window) = %d, %v; want %d, nil", n, err, yamux.InitialWindow)
		}
		writers = append(writers, st)
	}
	for range 256 - 20 {
		if _, err := client.OpenStream(); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	_, err := client.OpenStreamContext(ctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("OpenStreamContext with a full ACK backlog: err = %v, want context.DeadlineExceeded", err)
	}

	results := make(chan callResult, 32)
	var wg sync.WaitGroup
	run := func(what string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := f()
			results <- callResult{what, err, time.Now()}
		}()
	}
	for i, st := range readers {
		run(fmt.Sprintf("Read on stream %d", i), func() error {
			_, err := st.Read(make([]byte, 1))
			return err
		})
	}
	for i, st := range writers {
		run(fmt.Sprintf("Write on stream %d", i), func() error {
			_, err := st.Write([]byte{1})
			return err
		})
	}
	run("AcceptStream", func() error {
		_, err := client.AcceptStream()
		return err
	})
	run("OpenStreamContext", func() error {
		st, err := client.OpenStreamContext(context.Background())
		if err == nil {
			st.Reset()
			return fmt.Errorf("opened stream %d beyond a full ACK backlog", st.StreamID())
		}
		return err
	})
	serverEnd := make(chan time.Time, 1)
	go func() {
		<-server.CloseChan()
		serverEnd <- time.Now()
	}()

	if client.IsClosed() || server.IsClosed() {
		t.Fatalf("a session ended before the fault: client %v, server %v", client.Err(), server.Err())
	}
	t0 := time.Now()
	proxy.SetMode(faultBlackhole)

	lo := min(k, p) - rttSlack
	figure := (k + p) * 12 / 10
	hi := 3 * figure
	waitGroup(t, &wg, 10*hi, "blocked calls")
	close(results)
	var first, last time.Duration
	for r := range results {
		took := r.at.Sub(t0)
		if first == 0 || took < first {
			first = took
		}
		last = max(last, took)
		var ne net.Error
		if !errors.As(r.err, &ne) || !ne.Timeout() {
			t.Errorf("%s: err = %v, want a net.Error with Timeout() true", r.name, r.err)
		}
		var se *yamux.SessionError
		if !errors.As(r.err, &se) || !errors.Is(se.Cause, yamux.ErrKeepAliveTimeout) {
			t.Errorf("%s: err = %v, want a *SessionError with Cause ErrKeepAliveTimeout", r.name, r.err)
		}
		if !errors.Is(r.err, yamux.ErrSessionShutdown) {
			t.Errorf("%s: err = %v, want it to match ErrSessionShutdown", r.name, r.err)
		}
		if took < lo || took > hi {
			t.Errorf("%s returned %v after the blackhole, want within [%v, %v] (figure %v, 3x slack)", r.name, took, lo, hi, figure)
		}
	}
	select {
	case at := <-serverEnd:
		took := at.Sub(t0)
		if took < lo || took > hi {
			t.Errorf("server session ended %v after the blackhole, want within [%v, %v]", took, lo, hi)
		}
		if err := server.Err(); !errors.Is(err, yamux.ErrKeepAliveTimeout) {
			t.Errorf("server session err = %v, want ErrKeepAliveTimeout", err)
		}
	case <-time.After(hi):
		t.Errorf("server session still running %v after the blackhole", hi)
	}
	t.Logf("R16 (K=%v, P=%v): 22 blocked calls failed %v..%v after the blackhole (figure [%v, %v])", k, p, first, last, k, figure)
}

// r17Chunk is the write size of R17's streams.
const r17Chunk = 8 * 1024

// TestFaultConnResetR17: 100 streams mid-transfer when the connection is
// reset (the proxy closes both sides with SetLinger(0)). Every call on
// both sides returns an error matching ErrSessionShutdown or ECONNRESET,
// both CloseChans close, the bytes received before are intact, and the
// goroutines return to baseline ± 2 within 1 s.
func TestFaultConnResetR17(t *testing.T) {
	const streams = 100
	const figure = 100 * time.Millisecond
	base := runtime.NumGoroutine()
	cc, sc, proxy := faultDialPair(t)
	client, server := sessionsOn(t, cc, sc, testConfig(), testConfig())

	results := make(chan callResult, 4*streams)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			st, err := server.AcceptStream()
			if err != nil {
				results <- callResult{"server AcceptStream", err, time.Now()}
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := echoUntilError(st)
				results <- callResult{fmt.Sprintf("server echo on stream %d", st.StreamID()), err, time.Now()}
			}()
		}
	}()

	var progressing sync.WaitGroup
	progressing.Add(streams)
	var corrupt atomic.Int64
	for k := range streams {
		st, err := client.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		// Each stream keeps at most 64 KiB in flight (credits returned as
		// the echo comes back), so every stream progresses: the session
		// does not promise fairness between greedy writers.
		credits := make(chan struct{}, 64*1024/r17Chunk)
		readerDone := make(chan struct{})
		wg.Add(2)
		go func() { // writer
			defer wg.Done()
			buf := make([]byte, r17Chunk)
			var off int64
			for {
				select {
				case credits <- struct{}{}:
				case <-readerDone:
					// The reader saw the session fail; so must Write.
				}
				pattern(buf, int64(k)<<32+off)
				n, err := st.Write(buf)
				off += int64(n)
				if err != nil {
					results <- callResult{fmt.Sprintf("client Write on stream %d", k), err, time.Now()}
					return
				}
			}
		}()
		go func() { // reader: checks the echo, returns credits
			defer wg.Done()
			defer close(readerDone)
			buf := make([]byte, r17Chunk)
			want := make([]byte, len(buf))
			var off int64
			signalled := false
			for {
				n, err := st.Read(buf)
				pattern(want[:n], int64(k)<<32+off)
				if !bytes.Equal(buf[:n], want[:n]) {
					corrupt.Add(1)
				}
				before := off / r17Chunk
				off += int64(n)
				for range off/r17Chunk - before {
					<-credits
				}
				if !signalled && (off >= 64*1024 || err != nil) {
					signalled = true
					progressing.Done()
				}
				if err != nil {
					results <- callResult{fmt.Sprintf("client Read on stream %d", k), err, time.Now()}
					return
				}
			}
		}()
	}
	waitGroup(t, &progressing, 30*time.Second, "echo of 64 KiB on every stream")
	if client.IsClosed() || server.IsClosed() {
		t.Fatalf("a session ended before the fault: client %v, server %v", client.Err(), server.Err())
	}

	t0 := time.Now()
	proxy.SetMode(faultRST)
	waitGroup(t, &wg, 10*time.Second, "calls after the reset")
	close(results)
	var last time.Duration
	calls := 0
	for r := range results {
		calls++
		last = max(last, r.at.Sub(t0))
		if !errors.Is(r.err, yamux.ErrSessionShutdown) && !isConnReset(r.err) {
			t.Errorf("%s: err = %v, want ErrSessionShutdown or ECONNRESET", r.name, r.err)
		}
	}
	if want := 3*streams + 1; calls != want {
		t.Errorf("%d calls returned, want %d", calls, want)
	}
	if n := corrupt.Load(); n != 0 {
		t.Errorf("%d reads returned bytes that differ from what was sent, want 0", n)
	}
	if last > 3*figure {
		t.Errorf("last call returned %v after the reset, want <= %v (figure %v, 3x slack)", last, 3*figure, figure)
	}
	for name, s := range map[string]*yamux.Session{"client": client, "server": server} {
		select {
		case <-s.CloseChan():
		default:
			t.Errorf("%s CloseChan not closed after the reset", name)
		}
		if err := s.Err(); !errors.Is(err, yamux.ErrSessionShutdown) {
			t.Errorf("%s Err() = %v, want ErrSessionShutdown", name, err)
		}
	}

	client.Close()
	server.Close()
	proxy.Close()
	ok, took := poll(time.Second, func() bool { return runtime.NumGoroutine() <= base+2 })
	if !ok {
		t.Errorf("goroutines = %d 1 s after the reset, want <= baseline %d + 2", runtime.NumGoroutine(), base)
	}
	t.Logf("R17: %d calls returned within %v of the reset (figure %v); goroutines back to baseline in %v", calls, last, figure, took)
}

// r14Parallel bounds the R14 transfers in flight, keeping memory
// modest under -race; every stream still shares the session with the
// stalled stream #0 throughout.
const r14Parallel = 128

// TestFaultSlowReaderR14: N streams over one session; the consumer of
// stream #0 never reads, every other stream echoes 64 KiB with a SHA-256
// check. The peer's Write to stream #0 stops after exactly its 256 KiB
// window, the others all complete (no head-of-line blocking), and stream
// #0 holds exactly its window, intact, when it is finally read.
func TestFaultSlowReaderR14(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 200
	}
	const size = 64 * 1024

	baseline := runR14(t, n, size, false)
	stalled := runR14(t, n, size, true)
	ratio := float64(baseline) / float64(stalled)
	t.Logf("R14: %d streams x %d KiB: %v without stream #0 stalled, %v with it: throughput ratio %.2f (figure >= 0.80)",
		n-1, size/1024, baseline, stalled, ratio)
	// Real-time throughput is noisy under -race on shared CI machines:
	// guard against a collapse (head-of-line blocking would stall the run
	// entirely), report the ratio.
	if ratio < 0.4 {
		t.Errorf("throughput with stream #0 stalled is %.2f of the baseline, want >= 0.4 (figure 0.8)", ratio)
	}
}

// runR14 echoes n-1 streams of size bytes and, with stall, first
// exhausts stream #0's window. It returns the time the echoes took.
func runR14(t *testing.T, n, size int, stall bool) time.Duration {
	t.Helper()
	client, server := sessionPair(t, tcpPair, testConfig(), testConfig())
	type stallResult struct {
		n   int
		sum [sha256.Size]byte
		err error
	}
	release := make(chan struct{})
	stallDone := make(chan stallResult, 1)
	var handlers sync.WaitGroup
	handlers.Add(1)
	go func() {
		defer handlers.Done()
		for {
			st, err := server.AcceptStream()
			if err != nil {
				return
			}
			handlers.Add(1)
			go func() {
				defer handlers.Done()
				defer st.Close()
				if stall && st.StreamID() == 1 {
					// Stream #0: never read until the test is done.
					<-release
					st.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
					h := sha256.New()
					got, err := io.Copy(h, st)
					var r stallResult
					r.n, r.err = int(got), err
					h.Sum(r.sum[:0])
					stallDone <- r
					return
				}
				if err := echoThenCloseWrite(st); err != nil {
					t.Errorf("server echo on stream %d: %v", st.StreamID(), err)
				}
			}()
		}
	}()

	var st0 *yamux.Stream
	var data0 []byte
	if stall {
		var err error
		if st0, err = client.OpenStream(); err != nil {
			t.Fatal(err)
		}
		data0 = patternBytes(0, 1<<20)
		st0.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
		n0, err := st0.Write(data0)
		if n0 != yamux.InitialWindow || !isTimeout(err) || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Write(1 MiB) to the stalled stream = %d, %v; want %d, a timeout", n0, err, yamux.InitialWindow)
		}
	}

	start := time.Now()
	var ok atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, r14Parallel)
	for i := 1; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := echoCheck(client, uint64(i), size); err != nil {
				t.Errorf("stream #%d: %v", i, err)
				return
			}
			ok.Add(1)
		}()
	}
	waitGroup(t, &wg, 2*time.Minute, "echo streams")
	took := time.Since(start)
	if got := ok.Load(); got != int64(n-1) {
		t.Errorf("%d/%d streams completed with matching checksums, want %d/%d", got, n-1, n-1, n-1)
	}

	if stall {
		// Still blocked after everything else went through.
		st0.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		if k, err := st0.Write(data0[yamux.InitialWindow:]); k != 0 || !isTimeout(err) {
			t.Errorf("Write to the stalled stream after the others = %d, %v; want 0, a timeout", k, err)
		}
		close(release)
		r := <-stallDone
		if !isTimeout(r.err) {
			t.Errorf("draining stream #0: err = %v, want the read deadline's timeout", r.err)
		}
		if want := sha256.Sum256(data0[:yamux.InitialWindow]); r.n != yamux.InitialWindow || r.sum != want {
			t.Errorf("stream #0 held %d bytes (checksum match %v), want exactly %d intact", r.n, r.sum == want, yamux.InitialWindow)
		}
	}
	client.Close()
	server.Close()
	waitGroup(t, &handlers, 10*time.Second, "server handlers")
	return took
}

// echoCheck opens a stream, sends size pseudo-random bytes, half-closes
// and checks the echo's SHA-256.
func echoCheck(s *yamux.Session, seed uint64, size int) error {
	st, err := s.OpenStream()
	if err != nil {
		return err
	}
	defer st.Close()
	data := patternBytes(seed, size)
	want := sha256.Sum256(data)
	if _, err := st.Write(data); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if err := st.CloseWrite(); err != nil {
		return err
	}
	h := sha256.New()
	got, err := io.Copy(h, st)
	if err != nil {
		return fmt.Errorf("read echo: %w", err)
	}
	if sum := h.Sum(nil); got != int64(size) || !bytes.Equal(sum, want[:]) {
		return fmt.Errorf("echo: %d bytes, checksum match %v; want %d bytes, match", got, bytes.Equal(sum, want[:]), size)
	}
	return nil
}

// TestFaultDeadlineFullWindowR18: on a stream whose send window is
// exhausted, SetWriteDeadline(now+50ms) makes Write return at exactly
// 50 ms (fake time) with a timeout net.Error wrapping
// os.ErrDeadlineExceeded, having queued whole frames only: after the
// deadline is cleared and the peer reads, the rest is written and every
// byte arrives intact with the peer's session still decoding. The
// SetReadDeadline variant likewise.
func TestFaultDeadlineFullWindowR18(t *testing.T) {
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

// TestFaultConcurrentUnblockR19: 50 goroutines blocked in Write (zero
// window) and 50 in Read; stream Close/CloseWrite/Reset, each from three
// goroutines, and session Close from eight. Every blocked call returns
// ErrStreamClosed, ErrStreamReset or ErrSessionShutdown as appropriate, at
// once (0 s of fake time, figure 10 ms); synctest reports any deadlock.
func TestFaultConcurrentUnblockR19(t *testing.T) {
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

// TestFaultCloseStormR20: on one session with 100 streams, 1000 goroutines
// concurrently call Session.Close, Stream.Close/Reset/CloseWrite,
// OpenStream, Write, Read and Accept, on both sides. No panic, no
// deadlock (each iteration is a synctest bubble: a durable deadlock fails
// it), Close idempotent, every error one of the documented ones, each
// iteration < 5 s of fake time. 50 iterations (10 with -short).
func TestFaultCloseStormR20(t *testing.T) {
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

// TestFaultPanickingHandlerR21 shows the serve pattern the library leaves
// to the application: each accepted stream's handler runs in a goroutine
// with a deferred recover that resets the stream with the internal error
// code. One handler of 100 panics: only its stream is reset (code 2, seen
// by the peer), the other 99 echo with matching checksums, exactly one
// panic is recovered, and the session stays up.
func TestFaultPanickingHandlerR21(t *testing.T) {
	const streams, victim, size = 100, 42, 64 * 1024
	client, server := sessionPair(t, tcpPair, testConfig(), testConfig())
	var panics atomic.Int32
	var handlers sync.WaitGroup
	handle := func(st *yamux.Stream) {
		defer handlers.Done()
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
	handlers.Add(1)
	go func() {
		defer handlers.Done()
		for {
			st, err := server.AcceptStream()
			if err != nil {
				return
			}
			handlers.Add(1)
			go handle(st)
		}
	}()

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
	waitGroup(t, &handlers, 10*time.Second, "server handlers")
}

// Churn cycle kinds (R25): how a stream ends, seen from its opener.
const (
	churnFINOpenerFirst   = iota // opener writes and closes; acceptor reads EOF, closes
	churnFINAcceptorFirst        // acceptor reads and closes first; opener reads EOF, closes
	churnRSTOpener               // opener writes, then resets
	churnRSTAcceptor             // acceptor reads, then resets; opener reads the reset
	churnCloseTimeout            // opener closes; acceptor never does: StreamCloseTimeout resets
	churnKinds
)

// TestChurnAccountingR25: open → write 4 KiB → close, ending by FIN, RST
// or the close timeout, opened and ended from either side, 20,000 cycles
// (2,000 with -short) over TCP. At the end NumStreams() is 0 on both
// sides, the heap after GC is within 1 MiB of the baseline taken after
// warm-up, and goroutines and file descriptors are back at baseline.
func TestChurnAccountingR25(t *testing.T) {
	cycles := 20000
	if testing.Short() {
		cycles = 2000
	}
	const workers = 8
	const heapSlack = 1 << 20
	cfg := testConfig()
	// Long enough that FIN endings never race the close timer, even under
	// -race on a loaded machine; the close-timeout kind waits it out.
	cfg.StreamCloseTimeout = 500 * time.Millisecond
	// Streams waiting for the close timer stay live on the acceptor.
	cfg.MaxIncomingStreams = 10000
	client, server := sessionPair(t, tcpPair, cfg, cfg)

	var handlers sync.WaitGroup
	var active atomic.Int64
	accept := func(s *yamux.Session) {
		defer handlers.Done()
		for {
			st, err := s.AcceptStream()
			if err != nil {
				return
			}
			active.Add(1)
			handlers.Add(1)
			go func() {
				defer handlers.Done()
				defer active.Add(-1)
				if err := churnAccept(st); err != nil {
					t.Errorf("acceptor of stream %d: %v", st.StreamID(), err)
				}
			}()
		}
	}
	handlers.Add(2)
	go accept(client)
	go accept(server)

	run := func(from, n int) {
		var wg sync.WaitGroup
		next := atomic.Int64{}
		next.Store(int64(from))
		for range workers {
			wg.Go(func() {
				payload := make([]byte, 4096)
				for {
					c := int(next.Add(1) - 1)
					if c >= from+n || t.Failed() {
						return
					}
					kind := c % churnKinds
					opener := client
					if (c/churnKinds)%2 == 1 {
						opener = server
					}
					if err := churnOpen(opener, kind, payload); err != nil {
						t.Errorf("cycle %d (kind %d): %v", c, kind, err)
					}
				}
			})
		}
		waitGroup(t, &wg, 5*time.Minute, "churn workers")
		quiet, _ := poll(10*time.Second, func() bool {
			return client.NumStreams() == 0 && server.NumStreams() == 0 && active.Load() == 0
		})
		if !quiet {
			t.Fatalf("after %d cycles: NumStreams client %d, server %d, acceptors running %d; want 0, 0, 0",
				from+n, client.NumStreams(), server.NumStreams(), active.Load())
		}
	}

	// The warm-up reaches the steady-state peak of live streams (close-
	// timeout streams linger 500 ms), so structures sized by that peak
	// (stream map, timer heap) are in the baseline and growth means a leak.
	warmup := max(cycles/4, 1000)
	run(0, warmup)
	heap0, gor0, fds0 := heapBytes(), runtime.NumGoroutine(), openFDs()
	start := time.Now()
	run(warmup, cycles)
	took := time.Since(start)
	gorOK, _ := poll(2*time.Second, func() bool { return runtime.NumGoroutine() <= gor0 })
	heap1, gor1, fds1 := heapBytes(), runtime.NumGoroutine(), openFDs()
	t.Logf("R25: %d cycles in %v; heap %d -> %d bytes (%+d); goroutines %d -> %d; fds %d -> %d",
		cycles, took, heap0, heap1, int64(heap1)-int64(heap0), gor0, gor1, fds0, fds1)
	if heap1 > heap0+heapSlack {
		t.Errorf("heap after %d cycles = %d bytes, want <= baseline %d + %d", cycles, heap1, heap0, heapSlack)
	}
	if !gorOK {
		t.Errorf("goroutines after the cycles = %d, want <= baseline %d", gor1, gor0)
	}
	if fds1 > fds0 {
		t.Errorf("open fds after the cycles = %d, want <= baseline %d", fds1, fds0)
	}
	client.Close()
	server.Close()
	waitGroup(t, &handlers, 10*time.Second, "acceptors")
}

// churnOpen runs the opener's side of one cycle.
func churnOpen(s *yamux.Session, kind int, payload []byte) error {
	st, err := s.OpenStream()
	if err != nil {
		return err
	}
	payload[0] = byte(kind)
	if _, err := st.Write(payload); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	switch kind {
	case churnFINOpenerFirst, churnCloseTimeout:
		return st.Close()
	case churnFINAcceptorFirst:
		if n, err := st.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			return fmt.Errorf("read = %d, %v; want 0, EOF", n, err)
		}
		return st.Close()
	case churnRSTOpener:
		return st.Reset()
	case churnRSTAcceptor:
		if _, err := st.Read(make([]byte, 1)); !errors.Is(err, yamux.ErrStreamReset) {
			return fmt.Errorf("read err = %v, want ErrStreamReset", err)
		}
		return nil
	}
	return fmt.Errorf("unknown kind %d", kind)
}

// churnAccept runs the acceptor's side of one cycle; the first payload
// byte says which.
func churnAccept(st *yamux.Stream) error {
	buf := make([]byte, 4096)
	if _, err := io.ReadFull(st, buf); err != nil {
		// Only an opener's reset may cut the payload short.
		if errors.Is(err, yamux.ErrStreamReset) {
			return nil
		}
		return fmt.Errorf("read payload: %w", err)
	}
	kind := int(buf[0])
	switch kind {
	case churnFINOpenerFirst, churnCloseTimeout:
		if n, err := st.Read(buf[:1]); n != 0 || err != io.EOF {
			return fmt.Errorf("read = %d, %v; want 0, EOF", n, err)
		}
		if kind == churnCloseTimeout {
			return nil // never closed: the opener's close timer resets it
		}
		return st.Close()
	case churnFINAcceptorFirst:
		return st.Close()
	case churnRSTOpener:
		if _, err := io.Copy(io.Discard, st); !errors.Is(err, yamux.ErrStreamReset) {
			return fmt.Errorf("read err = %v, want ErrStreamReset", err)
		}
		return nil
	case churnRSTAcceptor:
		return st.Reset()
	}
	return fmt.Errorf("unknown kind %d", kind)
}
