package ping_test

import (
	"errors"
	"io"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/yamuxgo/yamux/internal/memconn"
	"github.com/yamuxgo/yamux/ping"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Several pings on one stream, then a half-close ends Serve cleanly.
func TestPingRepeated(t *testing.T) {
	a, b := memconn.Pipe()
	defer a.Close()
	defer b.Close()
	done := make(chan error, 1)
	go func() { done <- ping.Serve(b) }()
	for i := range 5 {
		rtt, err := ping.Ping(a)
		if err != nil || rtt <= 0 {
			t.Fatalf("ping %d: %v, %v", i, rtt, err)
		}
	}
	a.CloseWrite()
	if err := <-done; err != nil {
		t.Fatalf("Serve = %v, want nil after the half-close", err)
	}
}

func TestPingOverPipe(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	done := make(chan error, 1)
	go func() { done <- ping.Serve(b) }()
	if _, err := ping.Ping(a); err != nil {
		t.Fatal(err)
	}
	b.Close()
	<-done
}

// An echo that differs is ErrMismatch; a peer that closes early is
// io.ErrUnexpectedEOF.
func TestPingBadPeer(t *testing.T) {
	a, b := memconn.Pipe()
	defer a.Close()
	defer b.Close()
	go func() {
		buf := make([]byte, ping.Size)
		io.ReadFull(b, buf)
		buf[0] ^= 1
		b.Write(buf)
		io.ReadFull(b, buf)
		b.Close()
	}()
	if _, err := ping.Ping(a); !errors.Is(err, ping.ErrMismatch) {
		t.Fatalf("err = %v, want ErrMismatch", err)
	}
	if _, err := ping.Ping(a); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestServePartialPing(t *testing.T) {
	a, b := memconn.Pipe()
	defer b.Close()
	a.Write(make([]byte, 10))
	a.Close()
	if err := ping.Serve(b); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Serve = %v, want io.ErrUnexpectedEOF", err)
	}
}

// A dialer that goes quiet is dropped after IdleTimeout (fake time).
func TestServeIdleTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := memconn.Pipe()
		defer a.Close()
		defer b.Close()
		start := time.Now()
		err := ping.Serve(b)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("Serve = %v, want a timeout", err)
		}
		if time.Since(start) != ping.IdleTimeout {
			t.Fatalf("gave up after %v", time.Since(start))
		}
	})
}
