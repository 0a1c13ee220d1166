package yamux_test

import (
	"errors"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
	"github.com/yamuxgo/yamux/internal/memconn"
)

// The reply policy (spec.md §5.1): the receive loop pauses reading only
// when more replies are pending than a peer like us can ever cause, so two
// of our sessions flooding each other never deadlock, on any transport,
// while a hostile peer's flood stays bounded (TestProtoPendingReplyBound,
// TestHostileR03PingFlood, TestReplyBoundResetFlood).

// pingFlood pings hard both ways between client and server: pingers
// goroutines per side, each sending perPinger pings, and fails the test if
// any ping fails.
func pingFlood(t *testing.T, client, server *yamux.Session, pingers, perPinger int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 2*pingers)
	for _, s := range []*yamux.Session{client, server} {
		for range pingers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range perPinger {
					if _, err := s.Ping(); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Ping: %v", err)
		break
	}
	for _, s := range []*yamux.Session{client, server} {
		if s.IsClosed() {
			t.Errorf("session ended during the ping flood: %v", s.Err())
		}
	}
}

// TestPingFloodSymmetricPipe: 10,000 pings each way from 100 goroutines per
// side over net.Pipe, which buffers nothing: both send loops block in every
// write until the other side reads, so a receive loop that stopped reading
// for reply room would deadlock both sessions (until the write timeout).
func TestPingFloodSymmetricPipe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server := sessionPair(t, func(testing.TB) (net.Conn, net.Conn) { return net.Pipe() }, testConfig(), testConfig())
		start := time.Now()
		pingFlood(t, client, server, 100, 100)
		if d := time.Since(start); d != 0 {
			t.Errorf("the flood took %v of fake time, want 0 (no timeout involved)", d)
		}
	})
}

// TestPingFloodSymmetricTransports: the same flood over a small memconn
// buffer and over TCP, with bulk data in both directions at the same time.
func TestPingFloodSymmetricTransports(t *testing.T) {
	small := func(testing.TB) (net.Conn, net.Conn) {
		a, b := memconn.PipeWith(memconn.Options{Capacity: frame.HeaderSize})
		return a, b
	}
	for _, tc := range []struct {
		tr   transport
		bulk int // the 12-byte conn moves it 12 bytes per write: keep it short
	}{{transport{"mem-12B", small}, 256 << 10}, {transport{"tcp", tcpPair}, 4 << 20}} {
		tr := tc.tr
		t.Run(tr.name, func(t *testing.T) {
			client, server := sessionPair(t, tr.pair, testConfig(), testConfig())
			bulk := make(chan error, 2)
			go func() { // client -> server bulk while both ping
				st, err := client.OpenStream()
				if err != nil {
					bulk <- err
					return
				}
				_, err = st.Write(make([]byte, tc.bulk))
				st.Close()
				bulk <- err
			}()
			go func() {
				st, err := server.AcceptStream()
				if err != nil {
					bulk <- err
					return
				}
				buf := make([]byte, 64<<10)
				for {
					if _, err := st.Read(buf); err != nil {
						bulk <- nil
						return
					}
				}
			}()
			pingFlood(t, client, server, 100, 30)
			for range 2 {
				if err := <-bulk; err != nil {
					t.Errorf("bulk transfer: %v", err)
				}
			}
		})
	}
}

// TestPingOutstandingBound: at most 16 of our Pings wait for a pong at a
// time; the 17th waits for one of them. That is what makes "more than 64
// pongs pending" proof of a peer unlike us.
func TestPingOutstandingBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.EnableKeepAlive = false
		p := newRawPeerOpts(t, rawPeerOptions{AsClient: true, Config: cfg, NoPingAnswers: true})
		synctest.Wait()
		before := p.ourPings.Load() // the RTT ping
		results := make(chan error, 17)
		for range 17 {
			go func() {
				_, err := p.S.Ping()
				results <- err
			}()
		}
		synctest.Wait()
		if n := p.ourPings.Load() - before; n != 16 {
			t.Fatalf("%d pings on the wire with no pong, want 16", n)
		}
		// Answer one: the 17th goes out.
		p.writeFrame(frame.TypePing, frame.FlagACK, 0, 2) // the RTT ping was 1
		synctest.Wait()
		if n := p.ourPings.Load() - before; n != 17 {
			t.Fatalf("%d pings on the wire after one pong, want 17", n)
		}
		if err := <-results; err != nil {
			t.Fatalf("answered Ping: %v", err)
		}
		for range 16 { // the rest time out: nobody answers
			if err := <-results; !errors.Is(err, yamux.ErrTimeout) {
				t.Errorf("unanswered Ping = %v, want ErrTimeout", err)
			}
		}
	})
}

// TestReplyBoundResetFlood: after our GoAway every SYN is refused with RST
// (such refusals are not rapid reset: no slot is taken). A peer that keeps
// opening streams while not reading gets at most 512 RSTs queued; then our
// session stops reading (a peer like us never has more than 256 SYNs
// unanswered). Once our writes flow again every SYN has got its RST.
func TestReplyBoundResetFlood(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const syns = 5000
		cfg := testConfig()
		cfg.EnableKeepAlive = false
		p := newRawPeerOpts(t, rawPeerOptions{AsClient: true, Config: cfg, Capacity: frame.HeaderSize, NoPingAnswers: true})
		synctest.Wait()
		if err := p.S.GoAway(); err != nil {
			t.Fatal(err)
		}
		p.expectGoAway(0)
		p.oursMem().BlockWrites(true)
		raw := make([]byte, 0, syns*frame.HeaderSize)
		for i := range uint32(syns) {
			raw = append(raw, rawEncode(frame.TypeWindowUpdate, frame.FlagSYN, 1+2*i, 0)...)
		}
		wrote := make(chan error, 1)
		go func() { wrote <- p.write(raw) }()
		synctest.Wait()
		select {
		case err := <-wrote:
			t.Fatalf("peer wrote all %d SYNs (err %v) while we could not answer", syns, err)
		default:
		}
		// 512 pending RSTs, the SYN waiting for room, one in the read
		// buffer, one in the connection.
		if n, bound := p.rawMem().BytesWritten()/frame.HeaderSize, int64(512+3); n > bound {
			t.Errorf("peer got %d SYNs in before blocking, want <= %d", n, bound)
		}
		if p.S.IsClosed() {
			t.Fatalf("session closed: %v", p.S.Err())
		}
		p.oursMem().BlockWrites(false)
		for i := range uint32(syns) {
			p.expectRST(1 + 2*i)
		}
		if err := <-wrote; err != nil {
			t.Fatal(err)
		}
		p.expectNoFrame()
	})
}
