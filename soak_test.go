package yamux_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
)

var (
	soakDuration = flag.Duration("soak", 0, "run TestSoak for this long")
	soakInterval = flag.Duration("soak.interval", 10*time.Second, "TestSoak: time between progress reports")
)

// Soak shape: soakSessions connections to one server over TCP loopback;
// every soakBadEvery-th is a misbehaving raw peer (a new one as soon as the
// previous was dealt with), the others run soakWorkers workers each.
const (
	soakSessions = 16
	soakBadEvery = 8
	soakWorkers  = 4
	// soakBadTimeout bounds how long a misbehaving peer waits for the
	// server to end its session.
	soakBadTimeout = 30 * time.Second
)

// soakStats are the soak's counters.
type soakStats struct {
	streams          atomic.Int64 // streams completed (echo or churn)
	bytes            atomic.Int64 // bytes echoed and checked
	checksumFailures atomic.Int64
	opErrors         atomic.Int64 // unexpected errors on good sessions
	goodLost         atomic.Int64 // good sessions that ended before the stop
	badEnded         atomic.Int64 // misbehaving sessions ended with a protocol/keepalive/write-timeout error
	badProtocol      atomic.Int64
	badKeepalive     atomic.Int64
	badWriteTimeout  atomic.Int64
	badUnexpected    atomic.Int64 // ended otherwise, or not in time

	mu       sync.Mutex
	firstErr []string // the first few unexpected errors, for the log
}

func (s *soakStats) fail(counter *atomic.Int64, format string, args ...any) {
	counter.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.firstErr) < 10 {
		s.firstErr = append(s.firstErr, fmt.Sprintf(format, args...))
	}
}

// soakSample is one periodic measurement.
type soakSample struct {
	at         time.Duration
	heap       uint64
	goroutines int
	fds        int
}

// TestSoak runs many sessions over TCP loopback for -soak (skipped when
// 0): good clients churn streams and echo random sizes with SHA-256
// checks; misbehaving raw peers send garbage, SYN floods, rapid resets,
// stall mid-frame or never read. Every -soak.interval it logs heap,
// goroutines, fds and counters. It asserts 0 checksum failures, no error
// on the good sessions, every misbehaving session ended by a protocol,
// keepalive or write-timeout error, goroutines back to baseline, and the
// heap not growing (last sample <= 2x the one after the first minute).
//
//	go test -run Soak -soak 30m
func TestSoak(t *testing.T) {
	if *soakDuration <= 0 {
		t.Skip("soak test: enable with -soak <duration>, e.g. go test -run Soak -soak 30m")
	}
	dur, every := *soakDuration, *soakInterval
	baseGoroutines := runtime.NumGoroutine()

	// Keepalive ends stalled peers within K+P = 10 s. Shorter timings make
	// good sessions fail spuriously when the machine is overloaded: with
	// hundreds of runnable goroutines a receive loop can wait over a
	// second for a CPU (the log's "max lag" shows such starvation).
	cfg := testConfig()
	cfg.KeepAliveInterval = 5 * time.Second
	cfg.KeepAliveTimeout = 5 * time.Second
	cfg.ConnectionWriteTimeout = 10 * time.Second

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Measured with the listener open, so the runtime's poller fds count.
	baseFDs := openFDs()
	var stats soakStats
	var verdicts sync.Map // raw peer's local addr -> chan error
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	// peers: good clients and misbehaving peers; serving: the server side.
	// At the end the peers stop first, so no good stream is cut short.
	var peers, serving sync.WaitGroup

	// The server: one yamux.Server per connection, echo and churn handlers.
	var serverMu sync.Mutex
	// Live server sessions only: a closed one is dropped, so the soak does
	// not itself keep every session it ever served.
	servers := map[*yamux.Session]struct{}{}
	serving.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := yamux.Server(c, cfg)
			if err != nil {
				t.Errorf("yamux.Server: %v", err)
				c.Close()
				continue
			}
			serverMu.Lock()
			servers[s] = struct{}{}
			serverMu.Unlock()
			remote := c.RemoteAddr().String()
			serving.Go(func() { soakServe(s) })
			serving.Go(func() {
				<-s.CloseChan()
				serverMu.Lock()
				delete(servers, s)
				serverMu.Unlock()
				if v, ok := verdicts.Load(remote); ok {
					v.(chan error) <- s.Err()
				}
			})
		}
	})

	// Scheduling lag: how late a 50 ms ticker fires, the largest per report.
	start := time.Now()
	var lag, lagMax atomic.Int64
	peers.Go(func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		prev := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				d := int64(time.Since(prev) - 50*time.Millisecond)
				prev = now
				for {
					old := lag.Load()
					if d <= old || lag.CompareAndSwap(old, d) {
						break
					}
				}
				for {
					old := lagMax.Load()
					if d <= old || lagMax.CompareAndSwap(old, d) {
						break
					}
				}
			}
		}
	})

	// Good clients and misbehaving peers.
	for i := range soakSessions {
		if i%soakBadEvery == soakBadEvery-1 {
			peers.Go(func() {
				r := rand.New(rand.NewPCG(uint64(i), 0xbad))
				for n := 0; ctx.Err() == nil; n++ {
					soakBadPeer(ctx, ln.Addr().String(), n%soakBadKinds, r, &verdicts, &stats)
				}
			})
			continue
		}
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		client, err := yamux.Client(c, cfg)
		if err != nil {
			t.Fatal(err)
		}
		var workers sync.WaitGroup
		for w := range soakWorkers {
			workers.Go(func() {
				r := rand.New(rand.NewPCG(uint64(i), uint64(w)))
				soakWorker(ctx, client, r, &stats)
			})
		}
		peers.Go(func() {
			select {
			case <-client.CloseChan():
				if ctx.Err() == nil {
					stats.fail(&stats.goodLost, "good session %d ended after %v (max scheduling lag so far %v): %v",
						i, time.Since(start).Round(time.Millisecond), time.Duration(lagMax.Load()), client.Err())
				}
			case <-ctx.Done():
			}
			workers.Wait()
			client.Close()
		})
	}

	// Report every interval; the reference heap sample is the first one
	// after a minute (or after half the run, if shorter than 2 minutes).
	refAfter := min(time.Minute, dur/2)
	var samples []soakSample
	var ref *soakSample
	tick := time.NewTicker(every)
	end := time.NewTimer(dur)
	report := func() {
		s := soakSample{at: time.Since(start).Round(time.Second), heap: uint64(heapBytes()), goroutines: runtime.NumGoroutine(), fds: openFDs()}
		samples = append(samples, s)
		if ref == nil && s.at >= refAfter {
			ref = &samples[len(samples)-1]
			r := *ref
			ref = &r
		}
		t.Logf("soak %v: max lag %v, heap %.1f MiB, goroutines %d, fds %d, streams %d, echoed %d MiB, checksum failures %d, good-session errors %d (lost %d), misbehaving ended %d (protocol %d, keepalive %d, write timeout %d), unexpected %d",
			s.at, time.Duration(lag.Swap(0)).Round(time.Millisecond), float64(s.heap)/(1<<20), s.goroutines, s.fds, stats.streams.Load(), stats.bytes.Load()>>20,
			stats.checksumFailures.Load(), stats.opErrors.Load(), stats.goodLost.Load(),
			stats.badEnded.Load(), stats.badProtocol.Load(), stats.badKeepalive.Load(), stats.badWriteTimeout.Load(),
			stats.badUnexpected.Load())
	}
loop:
	for {
		select {
		case <-tick.C:
			report()
		case <-end.C:
			break loop
		}
	}
	tick.Stop()
	report()
	last := samples[len(samples)-1]

	stop()
	waitGroup(t, &peers, time.Minute, "soak clients and misbehaving peers")
	ln.Close()
	serverMu.Lock()
	for s := range servers {
		s.Close()
	}
	serverMu.Unlock()
	waitGroup(t, &serving, time.Minute, "soak server")

	okGor, _ := poll(5*time.Second, func() bool { return runtime.NumGoroutine() <= baseGoroutines+2 })
	okFD, _ := poll(5*time.Second, func() bool { return openFDs() <= baseFDs })
	t.Logf("soak done after %v: goroutines %d (baseline %d), fds %d (baseline %d)",
		time.Since(start).Round(time.Second), runtime.NumGoroutine(), baseGoroutines, openFDs(), baseFDs)
	for _, e := range stats.firstErr {
		t.Logf("first errors: %s", e)
	}
	if n := stats.checksumFailures.Load(); n != 0 {
		t.Errorf("%d checksum failures, want 0", n)
	}
	if n := stats.opErrors.Load(); n != 0 {
		t.Errorf("%d unexpected errors on good sessions, want 0", n)
	}
	if n := stats.goodLost.Load(); n != 0 {
		t.Errorf("%d good sessions ended during the run, want 0", n)
	}
	if n := stats.badUnexpected.Load(); n != 0 {
		t.Errorf("%d misbehaving sessions ended otherwise than by a protocol/keepalive/write-timeout error, want 0", n)
	}
	if stats.badEnded.Load() == 0 {
		t.Errorf("no misbehaving session was ended by the server, want > 0")
	}
	if stats.streams.Load() == 0 {
		t.Errorf("no stream completed, want > 0")
	}
	if !okGor {
		t.Errorf("goroutines = %d after the soak, want <= baseline %d + 2", runtime.NumGoroutine(), baseGoroutines)
	}
	if !okFD {
		t.Errorf("open fds = %d after the soak, want <= baseline %d", openFDs(), baseFDs)
	}
	if ref != nil && last.heap > 2*ref.heap {
		t.Errorf("heap grew: %d bytes at %v, want <= 2x the %d bytes at %v", last.heap, last.at, ref.heap, ref.at)
	}
}

// Stream operations of the soak, chosen by the first byte a client sends.
const (
	soakOpEcho  = 'E' // echo until EOF, then close
	soakOpChurn = 'C' // read until EOF or reset, then close
)

// soakServe accepts the session's streams and serves each.
func soakServe(s *yamux.Session) {
	var handlers sync.WaitGroup
	defer handlers.Wait()
	for {
		st, err := s.AcceptStream()
		if err != nil {
			return
		}
		handlers.Go(func() {
			defer st.Close()
			var op [1]byte
			if _, err := io.ReadFull(st, op[:]); err != nil {
				return
			}
			switch op[0] {
			case soakOpEcho:
				echoThenCloseWrite(st)
			default:
				io.Copy(io.Discard, st)
			}
		})
	}
}

// soakWorker runs random operations on a good session until ctx ends or
// the session fails.
func soakWorker(ctx context.Context, s *yamux.Session, r *rand.Rand, stats *soakStats) {
	for ctx.Err() == nil && !s.IsClosed() {
		var err error
		if r.IntN(4) == 0 {
			err = soakChurn(s, r)
		} else {
			size := r.IntN(64 * 1024)
			if r.IntN(8) == 0 {
				size = r.IntN(2 << 20)
			}
			err = soakEcho(s, r, size, stats)
		}
		if err != nil && !s.IsClosed() {
			stats.fail(&stats.opErrors, "%v", err)
		}
		if err == nil {
			stats.streams.Add(1)
		}
	}
}

// soakEcho sends size random bytes on a new stream and checks the echo's
// SHA-256; the write runs concurrently, as sizes exceed the windows.
func soakEcho(s *yamux.Session, r *rand.Rand, size int, stats *soakStats) error {
	st, err := s.OpenStream()
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer st.Close()
	data := make([]byte, 1+size)
	data[0] = soakOpEcho
	var seed [32]byte
	for i := range 4 {
		v := r.Uint64()
		for j := range 8 {
			seed[i*8+j] = byte(v >> (8 * j))
		}
	}
	rand.NewChaCha8(seed).Read(data[1:])
	want := sha256.Sum256(data[1:]) // the op byte is not echoed
	werr := make(chan error, 1)
	go func() {
		_, err := st.Write(data)
		if err == nil {
			err = st.CloseWrite()
		}
		werr <- err
	}()
	h := sha256.New()
	n, rerr := io.Copy(h, st)
	if err := <-werr; err != nil {
		return fmt.Errorf("echo write: %w", err)
	}
	if rerr != nil {
		return fmt.Errorf("echo read: %w", rerr)
	}
	if sum := h.Sum(nil); n != int64(size) || !bytes.Equal(sum, want[:]) {
		stats.checksumFailures.Add(1)
		return fmt.Errorf("echo of %d bytes: got %d bytes, checksum match %v", size, n, bytes.Equal(sum, want[:]))
	}
	stats.bytes.Add(n)
	return nil
}

// soakChurn opens a stream, writes a little and ends it by FIN or RST.
func soakChurn(s *yamux.Session, r *rand.Rand) error {
	st, err := s.OpenStream()
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	buf := make([]byte, 1+r.IntN(8*1024))
	buf[0] = soakOpChurn
	if _, err := st.Write(buf); err != nil {
		st.Reset()
		return fmt.Errorf("churn write: %w", err)
	}
	if r.IntN(2) == 0 {
		return st.Reset()
	}
	return st.Close()
}

// Misbehaviours of the raw peers.
const (
	soakBadGarbage   = iota // invalid version or type after a few valid frames
	soakBadSYNFlood         // 2000 SYNs with 1 KiB each, then a duplicate SYN
	soakBadRapidRST         // SYN then RST, 5000 times, then a flood of useless frames
	soakBadStall            // DATA header of 1000 bytes, 10 sent, then silence
	soakBadNeverRead        // a PING flood from a peer that never reads
	soakBadKinds
)

// soakBadPeer connects raw TCP, misbehaves as kind says and waits for the
// server to end the session; it records how the session ended.
func soakBadPeer(ctx context.Context, addr string, kind int, r *rand.Rand, verdicts *sync.Map, stats *soakStats) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		if ctx.Err() == nil {
			stats.fail(&stats.badUnexpected, "misbehaving peer: dial: %v", err)
		}
		return
	}
	verdict := make(chan error, 1)
	verdicts.Store(c.LocalAddr().String(), verdict)
	defer verdicts.Delete(c.LocalAddr().String())
	c.SetDeadline(time.Now().Add(soakBadTimeout))

	var bg sync.WaitGroup
	defer bg.Wait()
	defer c.Close()
	if kind == soakBadNeverRead {
		c.(*net.TCPConn).SetReadBuffer(4096)
	} else {
		bg.Go(func() { io.Copy(io.Discard, c) })
	}

	var out []byte
	put := func(h frame.Header, body []byte) {
		out = append(out, h[:]...)
		out = append(out, body...)
	}
	switch kind {
	case soakBadGarbage:
		for i := range 1 + r.IntN(5) {
			put(frame.New(frame.TypePing, frame.FlagSYN, 0, uint32(i)), nil)
		}
		h := frame.New(frame.TypePing, frame.FlagSYN, 0, 7)
		if r.IntN(2) == 0 {
			h[0] = byte(1 + r.IntN(255)) // version
		} else {
			h[1] = byte(4 + r.IntN(252)) // type
		}
		put(h, nil)
		junk := make([]byte, r.IntN(256))
		for i := range junk {
			junk[i] = byte(r.Uint32())
		}
		out = append(out, junk...)
		c.Write(out)
	case soakBadSYNFlood:
		body := make([]byte, 1024)
		body[0] = soakOpChurn
		for i := range 2000 {
			put(frame.New(frame.TypeData, frame.FlagSYN, uint32(2*i+1), uint32(len(body))), body)
		}
		put(frame.New(frame.TypeWindowUpdate, frame.FlagSYN, 1, 0), nil) // duplicate of a live stream
		c.Write(out)
	case soakBadRapidRST:
		for i := range 5000 {
			id := uint32(2*i + 1)
			put(frame.New(frame.TypeWindowUpdate, frame.FlagSYN, id, 0), nil)
			put(frame.New(frame.TypeWindowUpdate, frame.FlagRST, id, 0), nil)
		}
		for range 10001 + 10 {
			put(frame.New(frame.TypeWindowUpdate, 0, 1<<30+1, 0), nil) // unknown stream, no-op
		}
		c.Write(out)
	case soakBadStall:
		put(frame.New(frame.TypeData, frame.FlagSYN, 1, 1000), make([]byte, 10))
		c.Write(out)
	case soakBadNeverRead:
		for i := range 1000 {
			put(frame.New(frame.TypePing, frame.FlagSYN, 0, uint32(i)), nil)
		}
		bg.Go(func() {
			for {
				if _, err := c.Write(out); err != nil {
					return
				}
			}
		})
	}

	var got error
	select {
	case got = <-verdict:
	case <-time.After(soakBadTimeout):
		if ctx.Err() == nil {
			stats.fail(&stats.badUnexpected, "misbehaving peer (kind %d): session not ended by the server within %v", kind, soakBadTimeout)
		}
		return
	case <-ctx.Done():
		return
	}
	switch {
	case errors.Is(got, yamux.ErrProtocol):
		stats.badProtocol.Add(1)
	case errors.Is(got, yamux.ErrKeepAliveTimeout):
		stats.badKeepalive.Add(1)
	case errors.Is(got, yamux.ErrConnectionWriteTimeout):
		stats.badWriteTimeout.Add(1)
	default:
		if ctx.Err() == nil {
			stats.fail(&stats.badUnexpected, "misbehaving peer (kind %d): session ended with %v, want a protocol, keepalive or write-timeout error", kind, got)
		}
		return
	}
	stats.badEnded.Add(1)
}
