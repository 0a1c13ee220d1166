package yamux

import (
	"sync"
	"sync/atomic"
	"time"
)

// closedChan is a channel that is always ready, for deadlines already past.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// deadline implements one net.Conn deadline as a channel that is closed
// when the deadline passes, so blocked calls can select on it together with
// their other wake-ups. Setting a new deadline replaces the channel; the
// stream then wakes its waiters so they pick the new one up. A stream
// without deadlines holds no timer and no channel.
type deadline struct {
	mu      sync.Mutex
	timer   *time.Timer
	ch      chan struct{} // nil: no deadline
	expired atomic.Bool   // read on every Read/Write without the lock
}

// set arms the deadline; the zero time clears it. expired, if not nil, is
// called when the deadline passes (not when it is set in the past: the
// caller looks at it then).
func (d *deadline) set(t time.Time, expired func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	d.expired.Store(false)
	d.ch = nil
	if t.IsZero() {
		return
	}
	wait := time.Until(t)
	if wait <= 0 {
		d.expired.Store(true)
		d.ch = closedChan
		return
	}
	ch := make(chan struct{})
	d.ch = ch
	d.timer = time.AfterFunc(wait, func() {
		d.mu.Lock()
		fire := d.ch == ch // not replaced since
		if fire {
			d.expired.Store(true)
			close(ch)
		}
		d.mu.Unlock()
		if fire && expired != nil {
			expired()
		}
	})
}

// wait returns the channel to select on: nil (never ready) when no
// deadline is set.
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ch
}

// passed reports whether the deadline has been reached.
func (d *deadline) passed() bool { return d.expired.Load() }

// stop releases the timer when the stream ends.
func (d *deadline) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
}
