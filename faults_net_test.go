package yamux_test

// Network fault cases of docs/hostile-peers.md over real TCP through the
// fault proxy (faultproxy_test.go): a blackholed connection found by
// keepalive (R16) and a TCP RST mid-transfer (R17).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yamuxgo/yamux"
)

// rttSlack is the lower-bound tolerance of R16: if a keepalive ping
// was in flight when the blackhole began, the check fires P after that
// ping was sent, i.e. up to one loopback RTT less than P after the
// blackhole. With K == P the lower bound K therefore holds up to one RTT.
const rttSlack = 20 * time.Millisecond

// TestR16_BlackholeKeepalive: a half-open connection (blackhole proxy,
// no FIN, no RST) while 10 Reads, 10 Writes (zero window), 1 AcceptStream
// and 1 OpenStreamContext (full ACK backlog) are blocked. Every call must
// fail with a net.Error whose Timeout() is true (the session's
// ErrKeepAliveTimeout) within [K, (K+P)·1.2] of the blackhole; the upper
// bound is asserted with 3x slack (real time).
func TestR16_BlackholeKeepalive(t *testing.T) {
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

// TestR17_ConnReset: 100 streams mid-transfer when the connection is
// reset (the proxy closes both sides with SetLinger(0)). Every call on
// both sides returns an error matching ErrSessionShutdown or ECONNRESET,
// both CloseChans close, the bytes received before are intact, and the
// goroutines return to baseline ± 2 within 1 s.
func TestR17_ConnReset(t *testing.T) {
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
