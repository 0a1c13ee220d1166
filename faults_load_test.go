package yamux_test

// Load cases of docs/hostile-peers.md: one stream that never reads among
// many (R14; its throughput ratio is BenchmarkR14_SlowReader in
// bench_test.go) and churn accounting over every way a stream ends (R25).

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yamuxgo/yamux"
)

// r14Parallel bounds the R14 transfers in flight, keeping memory
// modest under -race; every stream still shares the session with the
// stalled stream #0 throughout.
const r14Parallel = 128

// TestR14_SlowReader: N streams over one session; the consumer of
// stream #0 never reads, every other stream echoes 64 KiB with a SHA-256
// check. The peer's Write to stream #0 stops after exactly its 256 KiB
// window, the others all complete (no head-of-line blocking), and stream
// #0 holds exactly its window, intact, when it is finally read. The
// figure of R14 (throughput with stream #0 stalled at least 0.8 of the
// baseline) is a speed, so it is measured by BenchmarkR14_SlowReader.
func TestR14_SlowReader(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 200
	}
	took := runR14(t, n, r14Size, true)
	t.Logf("R14: %d streams x %d KiB echoed in %v with stream #0 stalled", n-1, r14Size/1024, took)
}

// r14Size is what each R14 stream echoes.
const r14Size = 64 * 1024

// runR14 echoes n-1 streams of size bytes and, with stall, first
// exhausts stream #0's window. It returns the time the echoes took.
func runR14(t testing.TB, n, size int, stall bool) time.Duration {
	t.Helper()
	client, server := sessionPair(t, tcpPair, testConfig(), testConfig())
	type stallResult struct {
		n   int
		sum [sha256.Size]byte
		err error
	}
	release := make(chan struct{})
	stallDone := make(chan stallResult, 1)
	handlers := serveStreams(server, func(st *yamux.Stream) {
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
	})

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
	waitGroup(t, handlers, 10*time.Second, "server handlers")
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

// Churn cycle kinds (R25): how a stream ends, seen from its opener.
const (
	churnFINOpenerFirst   = iota // opener writes and closes; acceptor reads EOF, closes
	churnFINAcceptorFirst        // acceptor reads and closes first; opener reads EOF, closes
	churnRSTOpener               // opener writes, then resets
	churnRSTAcceptor             // acceptor reads, then resets; opener reads the reset
	churnCloseTimeout            // opener closes; acceptor never does: StreamCloseTimeout resets
	churnKinds
)

// TestR25_ChurnAccounting: open → write 4 KiB → close, ending by FIN, RST
// or the close timeout, opened and ended from either side, 20,000 cycles
// (2,000 with -short) over TCP. At the end NumStreams() is 0 on both
// sides, the heap after GC is within 1 MiB of the baseline taken after
// warm-up, and goroutines and file descriptors are back at baseline.
func TestR25_ChurnAccounting(t *testing.T) {
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
