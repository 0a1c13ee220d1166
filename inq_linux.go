//go:build linux

package yamux

import (
	"sync"
	"syscall"
	"unsafe"
)

// inqProbe says whether a socket has bytes waiting to be read (the
// TIOCINQ ioctl), for goroutines that do not hold the read role
// (Session.wakeParkedReader). One probe at a time; a concurrent caller
// is told no.
type inqProbe struct {
	mu sync.Mutex
	rc syscall.RawConn
	n  int32
	fn func(fd uintptr) // the RawConn callback, made once: a probe allocates nothing
}

// newInqProbe returns a probe for conn if it is a TCP or Unix socket,
// else nil.
func newInqProbe(conn any) *inqProbe {
	_, rc := socketOf(conn)
	if rc == nil {
		return nil
	}
	p := &inqProbe{rc: rc}
	p.fn = func(fd uintptr) {
		if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&p.n))); errno != 0 {
			p.n = 0
		}
	}
	return p
}

// pending reports whether the socket has unread bytes.
func (p *inqProbe) pending() bool {
	n, _ := p.unread()
	return n > 0
}

// unread returns how many unread bytes the socket has; ok is false when
// it could not tell (another probe under way, or the conn closed).
func (p *inqProbe) unread() (n int, ok bool) {
	if !p.mu.TryLock() {
		return 0, false
	}
	defer p.mu.Unlock()
	p.n = 0
	if err := p.rc.Control(p.fn); err != nil {
		return 0, false
	}
	return int(p.n), true
}
