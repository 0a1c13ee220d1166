package yamux

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestBodyReader: the readv that reads a body's last bytes and the next
// header together, on both kinds of socket it serves. It returns what
// arrived, split between the two as a read of the body then the header
// would; waits for at least one byte; stops at the read deadline (the
// read role's interruption) having consumed nothing; reports EOF and a
// peer's reset as the conn's Read does; and allocates nothing.
func TestBodyReader(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			peer, ours := socketPair(t, network)
			r := newBodyReader(ours)
			if r == nil {
				t.Fatalf("no bodyReader for a %s conn", network)
			}
			body, hdr := make([]byte, 100), make([]byte, 12)
			send := func(b []byte) {
				t.Helper()
				if _, err := peer.Write(b); err != nil {
					t.Fatal(err)
				}
			}
			// expect reads want as body bytes, however many reads it takes.
			expect := func(want []byte) {
				t.Helper()
				for got := 0; got < len(want); {
					nb, nh, err := r.read(body[:len(want)-got], nil)
					if err != nil || nh != 0 || string(body[:nb]) != string(want[got:got+nb]) {
						t.Fatalf("read = %d, %d, %v; want bytes %d.. of %q", nb, nh, err, got, want)
					}
					got += nb
				}
			}
			pattern := func(n int, c byte) []byte {
				b := make([]byte, n)
				for i := range b {
					b[i] = c + byte(i%7)
				}
				return b
			}

			// Body and the whole header after it, in one system call.
			b1, h1 := pattern(100, 'a'), pattern(12, 'A')
			send(append(append([]byte(nil), b1...), h1...))
			nb, nh, err := r.read(body, hdr)
			if err != nil || nb != 100 || nh != 12 || string(body) != string(b1) || string(hdr) != string(h1) {
				t.Fatalf("read of body+header sent at once = %d, %d, %v; want 100, 12 and the bytes sent", nb, nh, err)
			}
			// Part of the body: that part, no header.
			b2 := pattern(100, 'b')
			send(b2[:40])
			expect(b2[:40])
			// The rest of it and 5 bytes of the next header; then the
			// header's other 7, read into the rest of hdr.
			h2 := pattern(12, 'B')
			send(append(append([]byte(nil), b2[40:]...), h2[:5]...))
			nb, nh, err = r.read(body[:60], hdr)
			if err != nil || nb != 60 || nh != 5 || string(body[:60]) != string(b2[40:]) || string(hdr[:5]) != string(h2[:5]) {
				t.Fatalf("read of a body's end and part of a header = %d, %d, %v; want 60, 5", nb, nh, err)
			}
			send(h2[5:])
			expect(h2[5:])

			// An expired deadline: a timeout at once, nothing consumed.
			ours.SetReadDeadline(time.Now().Add(-time.Second))
			send(pattern(10, 'c'))
			if _, _, err := r.read(body, hdr); !isTimeout(err) {
				t.Fatalf("read with an expired deadline: %v, want a timeout", err)
			}
			// A deadline passing while it waits, as the read role's kick.
			ours.SetReadDeadline(time.Time{})
			expect(pattern(10, 'c'))
			ours.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
			if _, _, err := r.read(body, hdr); !isTimeout(err) {
				t.Fatalf("read past its deadline: %v, want a timeout", err)
			}
			ours.SetReadDeadline(time.Time{})

			// Nothing allocated per read.
			msg := pattern(112, 'd')
			allocs := testing.AllocsPerRun(100, func() {
				send(msg)
				for got := 0; got < len(msg); {
					nb, nh, err := r.read(body, hdr)
					if err != nil {
						t.Fatal(err)
					}
					got += nb + nh
				}
			})
			if allocs != 0 {
				t.Fatalf("%v allocations per read, want 0", allocs)
			}

			// The peer's end: EOF, or its reset as the conn reports it.
			if network == "tcp" {
				peer.(*net.TCPConn).SetLinger(0) // close with RST
				peer.Close()
				_, _, err := r.read(body, hdr)
				var op *net.OpError
				if !errors.Is(err, syscall.ECONNRESET) || !errors.As(err, &op) || op.Op != "read" {
					t.Fatalf("read after the peer's reset: %v, want a read *net.OpError for ECONNRESET", err)
				}
				return
			}
			peer.Close()
			if _, _, err := r.read(body, hdr); err != io.EOF {
				t.Fatalf("read after the peer closed: %v, want io.EOF", err)
			}
		})
	}
}

// TestBodyReaderOnlyOnSockets: the readv is for TCP and Unix sockets;
// any other conn (a wrapper, a pipe, a file) reads headers on their own.
func TestBodyReaderOnlyOnSockets(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tcp, _ := socketPair(t, "tcp")
	for _, c := range []any{a, f, struct{ net.Conn }{tcp}} {
		if newBodyReader(c) != nil {
			t.Errorf("a bodyReader for a %T", c)
		}
	}
}
