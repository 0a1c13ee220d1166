package yamux_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/yamuxgo/yamux"
)

// ledger is a MemoryManager factory that counts every reservation,
// release and Done, and records every misuse: a reservation or release
// after Done, a second Done, releasing more than was reserved.
type ledger struct {
	mu        sync.Mutex
	created   int
	finished  int
	reserved  int64 // bytes reserved, all spans
	released  int64 // bytes given back by ReleaseMemory or Done
	byPrio    map[uint8]int
	refusals  int
	violation []string
	spans     []*span
	// refuse decides a reservation; nil accepts everything.
	refuse func(n int, size int, prio uint8) bool
	// failNew makes the factory itself fail.
	failNew bool
	calls   int // reservations seen, for refuse
}

type span struct {
	l    *ledger
	held int64
	peak int64 // the most held at once
	done bool
	// doneCh is closed by Done: a synchronisation point for tests.
	doneCh chan struct{}
}

var errRefused = errors.New("ledger: refused")

func newLedger() *ledger { return &ledger{byPrio: make(map[uint8]int)} }

func (l *ledger) factory() func() (yamux.MemoryManager, error) {
	return func() (yamux.MemoryManager, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.failNew {
			return nil, errRefused
		}
		sp := &span{l: l, doneCh: make(chan struct{})}
		l.created++
		l.spans = append(l.spans, sp)
		return sp, nil
	}
}

func (sp *span) ReserveMemory(size int, prio uint8) error {
	l := sp.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if sp.done {
		l.violation = append(l.violation, "ReserveMemory after Done")
	}
	l.calls++
	if l.refuse != nil && l.refuse(l.calls, size, prio) {
		l.refusals++
		return errRefused
	}
	sp.held += int64(size)
	sp.peak = max(sp.peak, sp.held)
	l.reserved += int64(size)
	l.byPrio[prio]++
	return nil
}

func (sp *span) ReleaseMemory(size int) {
	l := sp.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if sp.done {
		l.violation = append(l.violation, "ReleaseMemory after Done")
	}
	if int64(size) > sp.held {
		l.violation = append(l.violation, fmt.Sprintf("ReleaseMemory(%d) with %d held", size, sp.held))
	}
	sp.held -= int64(size)
	l.released += int64(size)
}

func (sp *span) Done() {
	l := sp.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if sp.done {
		l.violation = append(l.violation, "Done called twice")
		return
	}
	sp.done = true
	l.finished++
	l.released += sp.held
	sp.held = 0
	close(sp.doneCh)
}

// waitAllDone waits until every span created so far has been ended, the
// proof that streams release their memory without the session ending.
func (l *ledger) waitAllDone(t *testing.T, d time.Duration) {
	t.Helper()
	l.mu.Lock()
	spans := append([]*span(nil), l.spans...)
	l.mu.Unlock()
	timeout := time.After(d)
	for i, sp := range spans {
		select {
		case <-sp.doneCh:
		case <-timeout:
			t.Fatalf("span %d of %d not done after %v", i+1, len(spans), d)
		}
	}
}

// balanced fails the test unless every span was ended exactly once and
// every reserved byte was given back.
func (l *ledger) balanced(t *testing.T, name string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range l.violation {
		t.Errorf("%s: %s", name, v)
	}
	if l.created != l.finished {
		t.Errorf("%s: %d managers created, %d done", name, l.created, l.finished)
	}
	if l.reserved != l.released {
		t.Errorf("%s: %d bytes reserved, %d released", name, l.reserved, l.released)
	}
}

func (l *ledger) count(prio uint8) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byPrio[prio]
}

func memConfig(l *ledger) *yamux.Config {
	c := testConfig()
	c.MemoryManager = l.factory()
	return c
}

// echoServer accepts streams until the session ends and echoes each one;
// a stream whose first byte is 'R' is reset by the server after echoing
// what it read so far of it. It returns when every handler has finished.
func echoServer(s *yamux.Session) (wait func()) {
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			st, err := s.AcceptStream()
			if err != nil {
				return
			}
			wg.Go(func() {
				first := make([]byte, 1)
				if _, err := io.ReadFull(st, first); err != nil {
					st.Reset()
					return
				}
				if first[0] == 'R' {
					st.Reset()
					return
				}
				if _, err := st.Write(first); err != nil {
					st.Reset()
					return
				}
				if _, err := io.Copy(st, st); err != nil {
					st.Reset()
					return
				}
				st.Close()
			})
		}
	})
	return wg.Wait
}

// TestMemoryManagerThousandsOfStreams runs 3,000 streams through a pair of
// sessions that both account with a ledger: most echo (some of them
// megabytes, so windows grow), some are reset by the client mid-transfer,
// some by the server. Every stream's manager must be done, with everything
// released, before the sessions end, and again after.
func TestMemoryManagerThousandsOfStreams(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			cl, sl := newLedger(), newLedger()
			client, server := sessionPair(t, tr.pair, memConfig(cl), memConfig(sl))
			waitServer := echoServer(server)
			const streams, workers = 3000, 32
			work := make(chan int)
			var wg sync.WaitGroup
			errs := make(chan error, streams)
			for range workers {
				wg.Go(func() {
					for i := range work {
						if err := memoryStream(client, i); err != nil {
							errs <- fmt.Errorf("stream %d: %w", i, err)
						}
					}
				})
			}
			for i := range streams {
				work <- i
			}
			close(work)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			cl.waitAllDone(t, time.Minute)
			sl.waitAllDone(t, time.Minute)
			cl.balanced(t, "client, sessions alive")
			sl.balanced(t, "server, sessions alive")
			if n := cl.count(255) + sl.count(255); n != 2*streams {
				t.Errorf("%d initial-window reservations, want %d (one per stream and side)", n, 2*streams)
			}
			if cl.count(128)+sl.count(128) == 0 {
				t.Error("no window growth was reserved: the megabyte streams never grew their window")
			}
			client.Close()
			server.Close()
			waitServer()
			cl.balanced(t, "client, sessions closed")
			sl.balanced(t, "server, sessions closed")
		})
	}
}

// memoryStream is one stream of the thousands: kind by i.
func memoryStream(s *yamux.Session, i int) error {
	st, err := s.OpenStream()
	if err != nil {
		return err
	}
	switch {
	case i%7 == 3: // the server resets it
		st.Write([]byte{'R'})
		_, err := io.ReadAll(st)
		if !errors.Is(err, yamux.ErrStreamReset) {
			return fmt.Errorf("read after the server's reset: %v, want ErrStreamReset", err)
		}
		st.Close()
		return nil
	case i%7 == 5: // we reset it mid-transfer
		st.Write(append([]byte{'E'}, make([]byte, 100<<10)...))
		io.ReadFull(st, make([]byte, 10<<10))
		return st.Reset()
	}
	size := 4 << 10
	if i%100 == 0 {
		size = 2 << 20 // long enough for the window to grow
	}
	payload := make([]byte, size)
	payload[0] = 'E'
	werr := make(chan error, 1)
	go func() {
		_, err := st.Write(payload)
		if err == nil {
			err = st.CloseWrite()
		}
		werr <- err
	}()
	n, rerr := io.Copy(io.Discard, st)
	if err := <-werr; err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if rerr != nil || n != int64(size) {
		return fmt.Errorf("echo: %d bytes, %v; want %d", n, rerr, size)
	}
	return st.Close()
}

// TestMemoryManagerSessionsDieMidTransfer kills the connection under
// sessions with 64 streams moving data both ways: every manager is still
// done exactly once and everything is released, on both sides.
func TestMemoryManagerSessionsDieMidTransfer(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			for round := range 15 {
				cl, sl := newLedger(), newLedger()
				c1, c2 := tr.pair(t)
				client, err := yamux.Client(c1, memConfig(cl))
				if err != nil {
					t.Fatal(err)
				}
				server, err := yamux.Server(c2, memConfig(sl))
				if err != nil {
					t.Fatal(err)
				}
				waitServer := echoServer(server)
				var wg sync.WaitGroup
				started := make(chan struct{}, 64)
				for range 64 {
					wg.Go(func() {
						st, err := client.OpenStream()
						if err != nil {
							started <- struct{}{}
							return
						}
						chunk := make([]byte, 32<<10)
						chunk[0] = 'E'
						st.Write(chunk)
						// The echo of the first byte: the server has
						// accepted the stream, so both sides account for it.
						io.ReadFull(st, chunk[:1])
						started <- struct{}{}
						wg.Go(func() { io.Copy(io.Discard, st) })
						for {
							if _, err := st.Write(chunk); err != nil {
								return
							}
						}
					})
				}
				for range 64 {
					<-started
				}
				// One side's connection dies mid-transfer: alternately the
				// client's and the server's, by a raw close (no GO_AWAY).
				if round%2 == 0 {
					c1.Close()
				} else {
					c2.Close()
				}
				client.Close()
				server.Close()
				wg.Wait()
				waitServer()
				cl.balanced(t, fmt.Sprintf("round %d client", round))
				sl.balanced(t, fmt.Sprintf("round %d server", round))
				if cl.created != 64 || sl.created != 64 {
					t.Fatalf("round %d: %d client and %d server managers, want 64 each", round, cl.created, sl.created)
				}
			}
		})
	}
}

// TestMemoryManagerRefusesInitialWindow: a server whose manager refuses
// every third stream's initial window resets exactly those streams; the
// session and the other streams carry on.
func TestMemoryManagerRefusesInitialWindow(t *testing.T) {
	sl := newLedger()
	sl.refuse = func(n, size int, prio uint8) bool { return prio == 255 && n%3 == 0 }
	client, server := sessionPair(t, tcpPair, testConfig(), memConfig(sl))
	waitServer := echoServer(server)
	refused, served := 0, 0
	for range 30 {
		st, err := client.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		st.Write([]byte("E"))
		st.CloseWrite()
		back, err := io.ReadAll(st)
		switch {
		case err == nil && string(back) == "E":
			served++
		case errors.Is(err, yamux.ErrStreamReset):
			var se *yamux.StreamError
			if !errors.As(err, &se) || !se.Remote {
				t.Fatalf("refused stream: %v, want a reset by the peer", err)
			}
			refused++
		default:
			t.Fatalf("stream: %q, %v", back, err)
		}
		st.Close()
	}
	if refused != 10 || served != 20 {
		t.Fatalf("%d streams refused and %d served, want 10 and 20", refused, served)
	}
	if server.IsClosed() || client.IsClosed() {
		t.Fatal("a refused reservation ended the session")
	}
	sl.waitAllDone(t, time.Minute)
	sl.balanced(t, "server")
	client.Close()
	server.Close()
	waitServer()
	sl.balanced(t, "server, closed")
}

// TestMemoryManagerRefusesOpen: when our own manager refuses (or cannot be
// created), OpenStream fails with ErrMemoryRefused wrapping its error, the
// peer never hears of the stream, and the session lives on.
func TestMemoryManagerRefusesOpen(t *testing.T) {
	for _, mode := range []string{"reserve", "factory"} {
		t.Run(mode, func(t *testing.T) {
			cl := newLedger()
			if mode == "factory" {
				cl.failNew = true
			} else {
				cl.refuse = func(n, size int, prio uint8) bool { return prio == 255 }
			}
			client, server := sessionPair(t, memPair, memConfig(cl), testConfig())
			_, err := client.OpenStream()
			if !errors.Is(err, yamux.ErrMemoryRefused) || !errors.Is(err, errRefused) {
				t.Fatalf("OpenStream = %v, want ErrMemoryRefused wrapping the manager's error", err)
			}
			if _, err := client.Ping(); err != nil {
				t.Fatalf("session after a refused open: %v", err)
			}
			if n := server.NumStreams(); n != 0 {
				t.Fatalf("the peer has %d streams, want 0: nothing may be sent for a refused open", n)
			}
			// The session still opens streams once the manager agrees.
			cl.mu.Lock()
			cl.failNew, cl.refuse = false, nil
			cl.mu.Unlock()
			st, err := client.OpenStream()
			if err != nil {
				t.Fatal(err)
			}
			st.Reset()
			cl.waitAllDone(t, time.Minute)
			cl.balanced(t, "client")
		})
	}
}

// TestMemoryManagerFactoryFailsOnAccept: an inbound stream whose manager
// cannot be created is refused with RST, like a full backlog.
func TestMemoryManagerFactoryFailsOnAccept(t *testing.T) {
	sl := newLedger()
	sl.failNew = true
	client, server := sessionPair(t, memPair, testConfig(), memConfig(sl))
	st, err := client.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	st.Write([]byte("E"))
	if _, err := io.ReadAll(st); !errors.Is(err, yamux.ErrStreamReset) {
		t.Fatalf("read on a stream the peer could not account for: %v, want ErrStreamReset", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := server.AcceptStreamContext(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("AcceptStream = %v: the refused stream must not be handed out", err)
	}
	if server.IsClosed() {
		t.Fatal("the refusal ended the session")
	}
}

// TestMemoryManagerRefusedGrowthKeepsWindow: refusing every growth leaves
// each window at its initial size (nothing beyond it is ever held) and the
// transfer still completes; and with a manager, the session budget does
// not limit growth (MaxSessionReceiveBuffer is the manager's job then).
func TestMemoryManagerRefusedGrowthKeepsWindow(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		sl := newLedger()
		sl.refuse = func(n, size int, prio uint8) bool { return prio == 128 }
		client, server := sessionPair(t, tcpPair, testConfig(), memConfig(sl))
		transferOne(t, client, server, 8<<20)
		sl.mu.Lock()
		peak, refusals := sl.spans[0].peak, sl.refusals
		sl.mu.Unlock()
		if peak != 256<<10 {
			t.Fatalf("the stream held up to %d bytes, want only its 256 KiB initial window", peak)
		}
		if refusals == 0 {
			t.Fatal("no growth was ever asked for: the test does not exercise refusal")
		}
	})
	t.Run("budget-ignored", func(t *testing.T) {
		sl := newLedger()
		cfg := memConfig(sl)
		cfg.MaxSessionReceiveBuffer = 1 // no room at all in the session budget
		client, server := sessionPair(t, tcpPair, testConfig(), cfg)
		transferOne(t, client, server, 8<<20)
		sl.mu.Lock()
		peak := sl.spans[0].peak
		sl.mu.Unlock()
		if sl.count(128) == 0 || peak <= 256<<10 {
			t.Fatalf("%d growths reserved, peak %d bytes: the window did not grow past the session budget of 1 byte", sl.count(128), peak)
		}
	})
}

// transferOne sends size bytes on one stream from client to server, the
// server reading as fast as it can, and waits until they have arrived.
func transferOne(t *testing.T, client, server *yamux.Session, size int) {
	t.Helper()
	got := make(chan int64, 1)
	go func() {
		st, err := server.AcceptStream()
		if err != nil {
			got <- -1
			return
		}
		n, _ := io.Copy(io.Discard, st)
		st.Close()
		got <- n
	}()
	st, err := client.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Write(make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	st.CloseWrite()
	if n := <-got; n != int64(size) {
		t.Fatalf("server read %d bytes, want %d", n, size)
	}
	st.Close()
}

var _ net.Conn = (*yamux.Stream)(nil)

// TestMemoryManagerHeldWhileDataUnread: a stream that ends (both FINs)
// with data its application has not read still holds that data, so its
// manager is not told Done until the data is read, or dropped by Close;
// Done at FullyClosed let a peer that finishes streams faster than they
// are read keep memory the manager no longer counted. When the session
// ends, what such streams hold is given back (nothing can arrive any
// more, and the manager's scope must close), the data staying readable.
func TestMemoryManagerHeldWhileDataUnread(t *testing.T) {
	for _, end := range []string{"read", "close", "session end"} {
		t.Run(end, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sl := newLedger()
				client, server := sessionPair(t, memPair, testConfig(), memConfig(sl))
				st, err := client.OpenStream()
				if err != nil {
					t.Fatal(err)
				}
				sent := bytes.Repeat([]byte("m"), 10_000)
				writeAll(t, st, sent)
				st.CloseWrite()
				sst, err := server.AcceptStream()
				if err != nil {
					t.Fatal(err)
				}
				sst.CloseWrite()
				synctest.Wait()
				if s := sst.State(); s != yamux.StateFullyClosed {
					t.Fatalf("server stream after both FINs: %v, want FullyClosed", s)
				}
				sl.mu.Lock()
				sp := sl.spans[0]
				sl.mu.Unlock()
				select {
				case <-sp.doneCh:
					t.Fatal("the manager was told Done while the stream still holds 10,000 unread bytes")
				default:
				}
				switch end {
				case "read":
					got, err := io.ReadAll(sst)
					if err != nil || !bytes.Equal(got, sent) {
						t.Fatalf("ReadAll = %d bytes, %v; want the %d sent", len(got), err, len(sent))
					}
				case "close":
					sst.Close()
				case "session end":
					server.Close()
				}
				synctest.Wait()
				select {
				case <-sp.doneCh:
				default:
					t.Fatalf("after %s, the manager was not told Done", end)
				}
				if end == "session end" {
					if got, err := io.ReadAll(sst); err != nil || !bytes.Equal(got, sent) {
						t.Fatalf("after the session ended, ReadAll = %d bytes, %v; want the %d sent, still readable", len(got), err, len(sent))
					}
				}
				client.Close()
				server.Close()
				synctest.Wait()
				sl.balanced(t, end)
			})
		})
	}
}
