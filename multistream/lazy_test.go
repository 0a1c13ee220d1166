package multistream_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/yamuxgo/yamux/multistream"
)

func newLazy(t testing.TB, rw io.ReadWriter, proto string) *multistream.Lazy {
	t.Helper()
	l, err := multistream.NewLazy(rw, proto)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Header, proposal and the first application bytes leave in one write; the
// listener sees the protocol and then the bytes.
func TestLazyAccepted(t *testing.T) {
	for _, tr := range buffered {
		t.Run(tr.name, func(t *testing.T) {
			d, l := tr.pair(t)
			rec := &recordingConn{Conn: d}
			lz := newLazy(t, rec, "/echo/1.0.0")
			if _, err := lz.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			want := append([]byte("\x13/multistream/1.0.0\n\x0c/echo/1.0.0\n"), "hello"...)
			if len(rec.writes) != 1 || !bytes.Equal(rec.writes[0], want) {
				t.Fatalf("writes = %q, want one write %q", rec.writes, want)
			}
			p, err := multistream.Negotiate(l, []string{"/echo/1.0.0"})
			if err != nil || p != "/echo/1.0.0" {
				t.Fatalf("listener: %q, %v", p, err)
			}
			buf := make([]byte, 5)
			if _, err := io.ReadFull(l, buf); err != nil || string(buf) != "hello" {
				t.Fatalf("listener read %q, %v", buf, err)
			}
			l.Write([]byte("world"))
			if _, err := io.ReadFull(lz, buf); err != nil || string(buf) != "world" {
				t.Fatalf("dialer read %q, %v", buf, err)
			}
			if _, err := lz.Write([]byte("again")); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(l, buf); err != nil || string(buf) != "again" {
				t.Fatalf("listener read %q, %v", buf, err)
			}
		})
	}
}

// A refused lazy proposal is a NotSupportedError on the first Read, on
// every later Read and on Write.
func TestLazyRefused(t *testing.T) {
	for _, tr := range buffered {
		t.Run(tr.name, func(t *testing.T) {
			d, l := tr.pair(t)
			lres := goRun(func() (string, error) { return multistream.Negotiate(l, []string{"/other"}) })
			lz := newLazy(t, d, "/echo/1.0.0")
			if _, err := lz.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 8)
			for i := range 2 {
				n, err := lz.Read(buf)
				var ns *multistream.NotSupportedError
				if n != 0 || !errors.As(err, &ns) || ns.Protocols[0] != "/echo/1.0.0" {
					t.Fatalf("Read %d = %d, %v; want a NotSupportedError for /echo/1.0.0", i, n, err)
				}
			}
			if _, err := lz.Write([]byte("more")); !errors.Is(err, multistream.ErrNotSupported) {
				t.Fatalf("Write after the refusal = %v, want ErrNotSupported", err)
			}
			// The listener took "hello" for a proposal and waits for the
			// rest of it; the dialer's close ends that wait.
			lz.Close()
			if r := <-lres; r.err == nil {
				t.Fatalf("listener accepted %q", r.proto)
			}
		})
	}
}

// Read before any Write sends the header itself; this works over an
// unbuffered pipe too.
func TestLazyReadFirst(t *testing.T) {
	for _, tr := range allTransports {
		t.Run(tr.name, func(t *testing.T) {
			d, l := tr.pair(t)
			lres := goRun(func() (string, error) {
				p, err := multistream.Negotiate(l, []string{"/source"})
				if err == nil {
					_, err = l.Write([]byte("data"))
				}
				return p, err
			})
			lz := newLazy(t, d, "/source")
			buf := make([]byte, 4)
			if _, err := io.ReadFull(lz, buf); err != nil || string(buf) != "data" {
				t.Fatalf("read %q, %v", buf, err)
			}
			if r := <-lres; r.err != nil {
				t.Fatal(r.err)
			}
		})
	}
}

// Close on a lazy stream that never wrote still sends the header and the
// proposal before closing, so the listener learns what the stream was for.
func TestLazyCloseFlushesHeader(t *testing.T) {
	for _, tr := range allTransports {
		t.Run(tr.name, func(t *testing.T) {
			d, l := tr.pair(t)
			lz := newLazy(t, d, "/p")
			cerr := make(chan error, 1)
			go func() { cerr <- lz.Close() }() // over net.Pipe it waits for our read
			got, err := io.ReadAll(l)
			if want := "\x13/multistream/1.0.0\n\x03/p\n"; string(got) != want {
				t.Fatalf("listener got %q (%v), want %q then EOF", got, err, want)
			}
			if err := <-cerr; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// CloseWrite also flushes the header, then half-closes: the listener reads
// the protocol, then EOF, and can still answer.
func TestLazyCloseWrite(t *testing.T) {
	d, l := tcpTransport.pair(t)
	lz := newLazy(t, d, "/p")
	if err := lz.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	p, err := multistream.Negotiate(l, []string{"/p"})
	if err != nil || p != "/p" {
		t.Fatalf("listener: %q, %v", p, err)
	}
	if n, err := l.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("listener read after the half-close: %d, %v", n, err)
	}
	l.Write([]byte("bye"))
	got, err := io.ReadAll(io.LimitReader(lz, 3))
	if err != nil || string(got) != "bye" {
		t.Fatalf("dialer read %q, %v", got, err)
	}
}

// Close is bounded: a peer that never reads cannot hold it past
// CloseTimeout (fake time).
func TestLazyCloseBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d, l := net.Pipe()
		defer l.Close()
		lz := newLazy(t, d, "/p")
		start := time.Now()
		err := lz.Close()
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("Close = %v, want a timeout", err)
		}
		if got := time.Since(start); got != multistream.CloseTimeout {
			t.Fatalf("Close took %v, want %v", got, multistream.CloseTimeout)
		}
	})
}

// Concurrent Read and Write on one lazy stream, against an echo listener:
// Read does not wait for a long first Write (that would deadlock against
// the echo's back-pressure).
func TestLazyConcurrentEcho(t *testing.T) {
	d, l := tcpTransport.pair(t)
	setDeadlines(t, 20*time.Second, d, l)
	lres := goRun(func() (string, error) {
		p, err := multistream.Negotiate(l, []string{"/echo/1.0.0"})
		if err == nil {
			_, err = io.Copy(l, l)
		}
		return p, err
	})
	lz := newLazy(t, d, "/echo/1.0.0")
	payload := make([]byte, 16<<20)
	rand.Read(payload)
	werr := make(chan error, 1)
	go func() {
		_, err := lz.Write(payload)
		if err == nil {
			err = lz.CloseWrite()
		}
		werr <- err
	}()
	got, err := io.ReadAll(io.LimitReader(lz, int64(len(payload))))
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(payload) {
		t.Fatalf("echo differs (%d bytes back)", len(got))
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	if r := <-lres; r.err != nil {
		t.Fatal(r.err)
	}
}
