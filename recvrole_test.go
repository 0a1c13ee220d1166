package yamux

import (
	"io"
	"net"
	"testing"
	"time"
)

// The read role on its own: no session, no conn, no goroutine. A fake
// deadline setter records what the role asks of the conn.

type deadlineLog struct{ set []time.Time }

func (d *deadlineLog) setDeadline(t time.Time) error {
	d.set = append(d.set, t)
	return nil
}

// newTestRole returns a role that Reads may hold, as on an interruptible
// conn, and the log of the read deadlines it sets.
func newTestRole(t *testing.T) (*readRole, *deadlineLog) {
	r := &readRole{}
	r.init(nil)
	log := &deadlineLog{}
	r.setDeadline = log.setDeadline
	t.Cleanup(r.stop)
	return r, log
}

func (r *readRole) state() holderKind { return r.kind() }

func (r *readRole) set(k holderKind) { r.holder.Store(uint32(k)) }

// woken says whether the receive loop was told the role is its own, and
// consumes that wake-up.
func woken(r *readRole) bool {
	select {
	case <-r.wake:
		return true
	default:
		return false
	}
}

func TestReadRoleOnlyInterruptibleConns(t *testing.T) {
	tcpA, tcpB := socketPair(t, "tcp")
	pa, pb := net.Pipe()
	defer pa.Close()
	defer pb.Close()
	cases := []struct {
		name string
		conn any
		want bool
	}{
		{"TCP", tcpA, true},
		{"net.Pipe", pa, true},
		{"says yes", interruptible{tcpB, true}, true},
		{"says no", interruptible{tcpB, false}, false},
		{"net.Conn that says nothing", struct{ net.Conn }{tcpB}, false},
		{"io.ReadWriteCloser", struct{ io.ReadWriteCloser }{tcpB}, false},
	}
	for _, c := range cases {
		if _, got := directReads(c.conn); got != c.want {
			t.Errorf("%s: directReads = %v, want %v", c.name, got, c.want)
		}
	}
	r := &readRole{}
	r.init(struct{ io.ReadWriteCloser }{tcpB})
	r.set(holderIdle) // even if the role were idle, no Read takes it
	if r.tryTake(&Stream{}) {
		t.Error("tryTake on a conn a Read may not read = true, want false")
	}
	if r.leaveIdle(&Stream{}) {
		t.Error("leaveIdle on such a conn = true, want false")
	}
}

type interruptible struct {
	net.Conn
	ok bool
}

func (c interruptible) ReadInterruptible() bool { return c.ok }

// TestReadRoleTransitions walks the role's holders: the loop starts with
// it and leaves it idle only when nothing waits for the conn; a Read takes
// an idle role only; giving it up leaves it idle, or with the loop when
// anything waits; whatever starts waiting takes an idle role back to the
// loop, and so does the grace timer.
func TestReadRoleTransitions(t *testing.T) {
	r, _ := newTestRole(t)
	a, b := &Stream{}, &Stream{}
	if got := r.state(); got != holderLoop {
		t.Fatalf("new role held by %v, want the loop", got)
	}
	if r.tryTake(a) {
		t.Fatal("tryTake while the loop holds the role = true, want false")
	}
	a.id, b.id = 1, 3
	if r.leaveIdle(a) {
		t.Fatal("leaveIdle after giving data to a first Read = true, want false")
	}
	if r.leaveIdle(b) {
		t.Fatal("leaveIdle after giving data to another stream's Read = true, want false")
	}
	r.waitFor()
	if r.leaveIdle(b) {
		t.Fatal("leaveIdle while something waits = true, want false")
	}
	r.waitDone()
	r.pingSent()
	if r.leaveIdle(b) {
		t.Fatal("leaveIdle while a ping awaits its pong = true, want false")
	}
	r.pongSettled(1)
	if !r.leaveIdle(b) || r.state() != holderIdle {
		t.Fatalf("leaveIdle with nothing waiting, twice for one stream: role held by %v, want idle", r.state())
	}
	if !r.tryTake(a) {
		t.Fatal("tryTake of an idle role = false, want true")
	}
	if r.tryTake(b) {
		t.Fatal("a second Read took the role from the first")
	}
	r.release(b) // not b's to give
	if got := r.state(); got != holderStream {
		t.Fatalf("release by a Read not holding it: role held by %v", got)
	}
	r.release(a)
	if got := r.state(); got != holderIdle || woken(r) {
		t.Fatalf("release with nothing waiting: role held by %v or the loop woken, want idle", got)
	}

	// Whatever starts waiting gives an idle role to the loop, and wakes it.
	for name, wait := range map[string]func(){
		"waitFor":  r.waitFor,
		"pingSent": r.pingSent,
	} {
		r.set(holderIdle)
		wait()
		if got := r.state(); got != holderLoop || !woken(r) {
			t.Fatalf("%s on an idle role: held by %v, want the loop, woken", name, got)
		}
	}
	r.waitDone()
	r.pongSettled(1)

	// A Read giving the role up while something waits gives it to the loop.
	r.set(holderIdle)
	if !r.tryTake(a) {
		t.Fatal("tryTake = false, want true")
	}
	r.waitFor() // the role is held by a Read: nothing changes
	if got := r.state(); got != holderStream || woken(r) {
		t.Fatalf("waitFor while a Read holds the role: held by %v, want the Read", got)
	}
	r.release(a)
	if got := r.state(); got != holderLoop || !woken(r) {
		t.Fatalf("release while something waits: held by %v, want the loop, woken", got)
	}
	r.waitDone()

	// The grace timer takes back a role idle for idleGrace; fired early,
	// it waits for the rest; a role taken meanwhile it leaves alone.
	r.set(holderIdle)
	r.idleSince = monoNow()
	r.graceExpired()
	if got := r.state(); got != holderIdle || !r.armed {
		t.Fatalf("grace fired early: held by %v, armed %v; want idle, armed for the rest", got, r.armed)
	}
	r.idleSince = monoNow() - int64(idleGrace)
	r.graceExpired()
	if got := r.state(); got != holderLoop || r.armed {
		t.Fatalf("grace expired on a role idle that long: held by %v, armed %v; want the loop, disarmed", got, r.armed)
	}
	r.set(holderIdle)
	r.tryTake(a)
	r.graceExpired()
	if got := r.state(); got != holderStream || r.armed {
		t.Fatalf("grace expired while a Read holds the role: held by %v, armed %v; want the Read, disarmed", got, r.armed)
	}
	r.handToLoop(a)
	if got := r.state(); got != holderLoop || !woken(r) {
		t.Fatalf("handToLoop: held by %v, want the loop, woken", got)
	}
}

// TestReadRoleKick: a kick makes the holding Read look at its stream
// again: before its next read if it is not reading (no deadline set), by
// interrupting it with a past read deadline if it is, which it clears
// when the read returns. Kicks for other streams change nothing.
func TestReadRoleKick(t *testing.T) {
	r, log := newTestRole(t)
	a, b := &Stream{}, &Stream{}
	r.set(holderIdle)
	r.tryTake(a)

	r.kick(a) // not reading: recheck
	if len(log.set) != 0 {
		t.Fatalf("kick of a Read not in a read set deadlines %v, want none", log.set)
	}
	if r.enterRead(a) {
		t.Fatal("enterRead after a kick = true, want false (look again first)")
	}
	if !r.enterRead(a) {
		t.Fatal("enterRead after looking again = false, want true")
	}
	r.kick(b)
	if len(log.set) != 0 {
		t.Fatalf("kick of another stream set deadlines %v", log.set)
	}
	r.kick(a) // reading: interrupted
	r.kick(a) // once is enough
	if len(log.set) != 1 || !log.set[0].Equal(aLongTimeAgo) {
		t.Fatalf("kick of a Read in a read set deadlines %v, want one in the past", log.set)
	}
	if !r.exitRead() {
		t.Fatal("exitRead after an interruption = false, want true")
	}
	if len(log.set) != 2 || !log.set[1].IsZero() {
		t.Fatalf("exitRead left deadlines %v, want the past one cleared", log.set)
	}
	if !r.enterRead(a) || r.exitRead() {
		t.Fatal("a read with no kick reported an interruption")
	}

	// Giving the role up while interrupted clears the deadline before the
	// next holder reads.
	r.enterRead(a)
	r.kick(a)
	r.release(a)
	if n := len(log.set); n != 4 || !log.set[n-1].IsZero() {
		t.Fatalf("release of an interrupted Read left deadlines %v, want the past one cleared", log.set)
	}
}

// TestReadRoleClose: once the session ends the role goes to the loop for
// good (it reads until the peer's EOF): an idle role at once, a holding
// Read's by interrupting it; no Read takes it again.
func TestReadRoleClose(t *testing.T) {
	r, _ := newTestRole(t)
	a := &Stream{}
	r.set(holderIdle)
	r.close()
	if got := r.state(); got != holderLoop || !woken(r) {
		t.Fatalf("close of an idle role: held by %v, want the loop, woken", got)
	}
	r.set(holderIdle)
	if r.tryTake(a) {
		t.Fatal("tryTake after close = true, want false")
	}

	r, log := newTestRole(t)
	r.set(holderIdle)
	r.tryTake(a)
	r.enterRead(a)
	r.close()
	if len(log.set) != 1 {
		t.Fatalf("close while a Read reads set deadlines %v, want one in the past", log.set)
	}
	r.exitRead()
	if r.enterRead(a) {
		t.Fatal("enterRead after close = true, want false")
	}
	r.release(a)
	if got := r.state(); got != holderLoop || !woken(r) {
		t.Fatalf("release after close: held by %v, want the loop, woken", got)
	}
}
