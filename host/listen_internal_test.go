package host

import (
	"crypto/rand"
	"fmt"
	"net"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/yamuxgo/yamux/peer"
)

// flakyListener fails its first Accepts as a process out of file
// descriptors does, then hands out conns, then reports itself closed.
type flakyListener struct {
	mu       sync.Mutex
	failures int
	conns    []net.Conn
	closed   chan struct{}
	once     sync.Once
}

func (l *flakyListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if l.failures > 0 {
		l.failures--
		l.mu.Unlock()
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: fmt.Errorf("accept4: %w", syscall.EMFILE)}
	}
	if len(l.conns) > 0 {
		c := l.conns[0]
		l.conns = l.conns[1:]
		l.mu.Unlock()
		return c, nil
	}
	l.mu.Unlock()
	<-l.closed
	return nil, &net.OpError{Op: "accept", Net: "tcp", Err: net.ErrClosed}
}

func (l *flakyListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *flakyListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// newUpgradeHost returns a host with a fresh key and opts, for tests that
// drive its accept loop directly; the caller closes it.
func newUpgradeHost(t *testing.T, opts *Options) *Host {
	t.Helper()
	key, err := peer.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(key, opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestAcceptLoopOutlivesAcceptErrors: an Accept that fails because the
// process is out of file descriptors is waited out and retried; the loop
// used to return on it, leaving the listener open and nothing accepting
// ever again. The conn accepted after the failures reaches the upgrade,
// and the loop still ends when the listener closes.
func TestAcceptLoopOutlivesAcceptErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		upgraded := make(chan error, 1)
		h := newUpgradeHost(t, &Options{Notify: Notify{UpgradeFailed: func(_ net.Addr, err error) { upgraded <- err }}})
		ours, theirs := net.Pipe()
		theirs.Close() // the upgrade fails at once: it is reaching it that counts
		const failures = 10
		l := &flakyListener{failures: failures, conns: []net.Conn{ours}, closed: make(chan struct{})}
		start := time.Now()
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.acceptLoop(l)
		}()
		select {
		case <-upgraded:
		case <-done:
			t.Fatal("the accept loop returned on an accept error")
		}
		// Backing off from 5 ms, doubling, to at most 100 ms between tries.
		if waited := time.Since(start); waited < 5*time.Millisecond || waited > failures*acceptRetryMax {
			t.Errorf("%d failed accepts waited out in %v, want between %v and %v", failures, waited, acceptRetryMin, failures*acceptRetryMax)
		}
		l.Close()
		<-done
		h.Close()
	})
}

// TestInboundUpgradesBounded: while MaxInboundUpgrades accepted
// connections are in their upgrade, the listener accepts no more; the
// next is accepted when one of them fails, and silent ones give their
// slots back at HandshakeTimeout. Without the bound, every connection a
// peer opens and never speaks on holds a goroutine and a descriptor for
// HandshakeTimeout.
func TestInboundUpgradesBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		failed := make(chan error, 3)
		h := newUpgradeHost(t, &Options{MaxInboundUpgrades: 2, Notify: Notify{UpgradeFailed: func(_ net.Addr, err error) { failed <- err }}})
		const conns = 3
		var ours, theirs [conns]net.Conn
		for i := range conns {
			ours[i], theirs[i] = net.Pipe() // theirs never say a word
		}
		l := &flakyListener{conns: ours[:], closed: make(chan struct{})}
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.acceptLoop(l)
		}()
		state := func() (upgrading, waiting int) {
			h.mu.Lock()
			upgrading = len(h.pending)
			h.mu.Unlock()
			l.mu.Lock()
			waiting = len(l.conns)
			l.mu.Unlock()
			return upgrading, waiting
		}

		synctest.Wait()
		if u, w := state(); u != 2 || w != 1 {
			t.Fatalf("%d connections upgrading and %d left unaccepted, want 2 and 1 (MaxInboundUpgrades 2)", u, w)
		}
		// One upgrade fails: its slot takes the connection that waited.
		theirs[0].Close()
		synctest.Wait()
		if len(failed) != 1 {
			t.Fatalf("%d upgrades failed after their peer closed one connection, want 1", len(failed))
		}
		if u, w := state(); u != 2 || w != 0 {
			t.Fatalf("%d connections upgrading and %d left unaccepted after one upgrade failed, want 2 and 0", u, w)
		}
		// The silent ones end at the handshake timeout.
		time.Sleep(DefaultHandshakeTimeout)
		synctest.Wait()
		if u, _ := state(); u != 0 || len(failed) != conns {
			t.Fatalf("after HandshakeTimeout: %d upgrades still running, %d failed, want 0 and %d", u, len(failed), conns)
		}
		// One slot is the accept loop's, waiting in Accept for the next.
		if n := len(h.upgradeSlots); n != 1 {
			t.Errorf("%d upgrade slots held with no upgrade running, want 1 (the waiting Accept's)", n)
		}
		l.Close()
		<-done
		h.Close()
		for _, c := range theirs {
			c.Close()
		}
	})
}
