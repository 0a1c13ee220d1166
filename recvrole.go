package yamux

import (
	"net"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
)

// The read role: who reads the conn (spec.md §4.4). Exactly one goroutine
// at a time reads frames from the conn and acts on them: normally the
// receive loop, but a Read that would otherwise wait for data may take the
// role and read the conn itself, so that the data it waits for reaches it
// without a hand-off from the receive loop to the reader (a goroutine
// wake-up per message on each side, the largest cost of a request/response
// exchange once the system calls are counted).
//
// A Read may take the role only when nothing else waits for what the conn
// brings: when the receive loop finds that the one waiting party was the
// Read it has just given data to, it leaves the role idle instead of
// reading on, and the next Read takes it. Anything that then starts waiting
// for the conn (another Read, a Write on an empty window, AcceptStream, a
// Ping, a full ACK backlog) gives the role back to the receive loop, and so
// does a Read holding the role that gets its data while others wait. An
// idle role goes back to the receive loop after idleGrace at the latest, so
// frames nobody waits for (a peer's ping, window updates nobody needs yet)
// are read within about a millisecond however the application behaves.
//
// A Read holding the role may be blocked in the conn's Read when it has to
// leave: its deadline passes, the stream is closed or reset, the session
// ends. It is then interrupted with a read deadline in the past
// (readRole.kick), which is why the role is only ever given to a Read on
// connections whose Read loses nothing to such an interruption
// (directReads). Frame decoding state lives in the session
// (session_recv.go), so whoever holds the role next goes on where the last
// holder stopped, in the middle of a frame if need be.

// idleGrace is how long the role may stay idle before the receive loop
// takes it back: how late a frame nobody waits for may be read (a peer's
// ping, data for a stream nobody reads, a GO_AWAY: whatever somebody
// waits for takes the role back at once). Its timer fires once per grace
// for as long as Reads use the direct path, and each firing wakes the
// receive loop: measured on loopback request/response (p99 of the round
// trip against raw TCP's 18-20 µs), 10 ms gave 24-31 µs, 20 ms 21-30,
// 50 ms 22-24, no timer at all 21-23. 50 ms is short next to any keepalive
// timeout, and a Read coming back sooner keeps the direct path.
const idleGrace = 50 * time.Millisecond

// holderKind says who holds the read role.
type holderKind uint8

const (
	holderLoop   holderKind = iota // the receive loop
	holderIdle                     // nobody: the next Read may take it
	holderStream                   // a Read of readRole.st
)

// InterruptibleReader is implemented by a connection that a session may
// let an application's Stream.Read read directly, interrupting it when
// that Read has to leave. ReadInterruptible reports whether a Read of the
// connection that a read deadline in the past interrupts consumes nothing
// it does not return, so that Reads go on with the next byte once the
// deadline is cleared. *net.TCPConn, *net.UnixConn and net.Pipe
// connections qualify without it; a wrapper (a security layer such as
// noise.Conn) says so when its own Read, and the connection under it,
// behave that way. On other connections only the session's receive loop
// reads.
type InterruptibleReader interface {
	SetReadDeadline(t time.Time) error
	ReadInterruptible() bool
}

// pipeType is the type of net.Pipe's ends (unexported in package net).
var pipeType = func() reflect.Type {
	c, d := net.Pipe()
	c.Close()
	d.Close()
	return reflect.TypeOf(c)
}()

// directReads reports whether a Read may read conn itself (see
// InterruptibleReader), and returns the deadline setter that interrupts it.
func directReads(conn any) (func(time.Time) error, bool) {
	switch c := conn.(type) {
	case *net.TCPConn:
		return c.SetReadDeadline, true
	case *net.UnixConn:
		return c.SetReadDeadline, true
	case InterruptibleReader:
		if c.ReadInterruptible() {
			return c.SetReadDeadline, true
		}
		return nil, false
	}
	if c, ok := conn.(net.Conn); ok && reflect.TypeOf(conn) == pipeType {
		return c.SetReadDeadline, true
	}
	return nil, false
}

// readerState is where the Read holding the role stands with respect to
// kicks (readRole.kick).
type readerState uint8

const (
	readerRunning readerState = iota // handling what it has read
	readerRecheck                    // kicked while running: looks at its stream before reading
	readerReading                    // in (or about to enter) a read of the conn
	readerKicked                     // interrupted there: a read deadline in the past is set
)

// readRole is the session's read role. Its fields are guarded by mu,
// which is taken after a Stream's mu, never before; holder and waiting are
// atomics so that the frequent calls (waitFor, waitDone, kick of a stream
// not holding the role) take no lock.
type readRole struct {
	mu sync.Mutex
	// holder is a holderKind, written under mu.
	holder atomic.Uint32
	st     *Stream // the holding Read's stream (holderStream)
	reader readerState
	// waiting counts the goroutines waiting for something only the conn
	// brings (waitFor) and our pings awaiting their pong: while it is not
	// zero, the role is not left idle. Whoever changes holder to idle
	// looks at waiting after, and whoever adds to waiting looks at holder
	// after, so one of the two sees the other.
	waiting atomic.Int32
	// lastGave is the stream whose waiting Read the loop last gave data
	// to (leaveIdle); the loop's own, not guarded by mu.
	lastGave uint32
	// closed: the session has ended; the role goes back to the receive
	// loop for good (its lingering read).
	closed bool
	// wake tells the receive loop the role is its own again (1-buffered).
	wake chan struct{}
	// grace takes an idle role back (idleGrace); its channel is read by
	// the receive loop only. armed says it is running; idleSince is when
	// the role last became idle (monoNow). The timer is not moved each
	// time the role becomes idle again: changing a runtime timer wakes the
	// runtime's network poller or another thread, and doing it per
	// message cost a request/response exchange its tail latency (p99 50
	// instead of 25 µs on loopback); when it fires early, graceExpired
	// arms it for the rest.
	grace     *time.Timer
	armed     bool
	idleSince int64
	// setDeadline interrupts the conn's Read; nil when Reads may not hold
	// the role (directReads), and then the role never leaves the loop.
	setDeadline func(time.Time) error
}

func (r *readRole) init(conn any) {
	r.wake = make(chan struct{}, 1)
	r.setDeadline, _ = directReads(conn)
}

func (r *readRole) kind() holderKind { return holderKind(r.holder.Load()) }

// graceChan is the channel the receive loop waits on for an idle role to
// come back (nil, never ready, before the role was first idle).
func (r *readRole) graceChan() <-chan time.Time {
	if r.grace == nil {
		return nil
	}
	return r.grace.C
}

// stop releases the grace timer when the receive loop ends.
func (r *readRole) stop() {
	if r.grace != nil {
		r.grace.Stop()
	}
}

// aLongTimeAgo is a read deadline in the past: it interrupts a Read.
var aLongTimeAgo = time.Unix(1, 0)

// tryTake gives the role to a Read of st if it is idle; the caller then
// reads the conn until it has its data (Stream.read).
func (r *readRole) tryTake(st *Stream) bool {
	if r.setDeadline == nil || r.kind() != holderIdle {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kind() != holderIdle || r.closed {
		return false
	}
	r.holder.Store(uint32(holderStream))
	r.st = st
	r.reader = readerRunning
	return true
}

// release gives the role up from st's Read: to nobody (idle) when nothing
// waits for the conn, else to the receive loop.
func (r *readRole) release(st *Stream) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.heldByLocked(st) {
		return
	}
	r.st = nil
	if r.closed || r.waiting.Load() > 0 {
		r.toLoopLocked()
		return
	}
	r.idleLocked()
}

// handToLoop gives the role from st's Read to the receive loop, which may
// wait where a Read must not (for reply room, waitReplyRoom).
func (r *readRole) handToLoop(st *Stream) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.heldByLocked(st) {
		r.toLoopLocked()
	}
}

// heldByLocked says whether st's Read holds the role and, if so, clears
// what its reading left: a kick's read deadline, before anyone else
// reads.
func (r *readRole) heldByLocked(st *Stream) bool {
	if r.kind() != holderStream || r.st != st {
		return false
	}
	if r.reader == readerKicked {
		r.setDeadline(time.Time{})
	}
	r.reader = readerRunning
	return true
}

// idleLocked leaves the role idle and arms the grace timer, unless
// something has started waiting meanwhile (waitFor), in which case the
// role goes to the loop.
func (r *readRole) idleLocked() {
	r.holder.Store(uint32(holderIdle))
	r.st = nil
	if r.waiting.Load() > 0 {
		r.toLoopLocked()
		return
	}
	r.idleSince = monoNow()
	if !r.armed {
		r.armed = true
		if r.grace == nil {
			// Made by the receive loop, the first time it leaves the role
			// idle: a session whose role never is needs no timer.
			r.grace = time.NewTimer(idleGrace)
		} else {
			r.grace.Reset(idleGrace)
		}
	}
}

// toLoopLocked gives the role to the receive loop and wakes it.
func (r *readRole) toLoopLocked() {
	r.holder.Store(uint32(holderLoop))
	r.st = nil
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// leaveIdle is called by the receive loop, with nothing more buffered,
// after a step in which it gave data to st's waiting Read. If that Read
// was all that waited for the conn, and the Read the loop gave data to
// before was st's too, the loop stops reading and leaves the role to st's
// next Read. It reports whether it did. The last condition keeps the
// direct path to one stream read in turn (a request/response or bulk
// stream): the Reads of several streams in parallel are better served by
// one reader than by the role going back and forth between them and the
// loop.
func (r *readRole) leaveIdle(st *Stream) bool {
	if r.setDeadline == nil {
		return false
	}
	same := r.lastGave == st.id
	r.lastGave = st.id
	if !same || r.waiting.Load() > 0 {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kind() != holderLoop || r.closed {
		return false
	}
	r.idleLocked()
	// A waiter that came meanwhile gave the role straight back.
	return r.kind() == holderIdle
}

// graceExpired takes an idle role back for the receive loop once it has
// been idle for idleGrace, and arms the timer for the rest if not yet.
func (r *readRole) graceExpired() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.armed = false
	if r.kind() != holderIdle {
		return // taken meanwhile; whoever leaves it idle again arms it
	}
	if rest := time.Duration(int64(idleGrace) - (monoNow() - r.idleSince)); rest > 0 {
		r.armed = true
		r.grace.Reset(rest)
		return
	}
	r.holder.Store(uint32(holderLoop))
}

// loopHolds says whether the receive loop holds the role.
func (r *readRole) loopHolds() bool { return r.kind() == holderLoop }

// waitFor registers a goroutine about to wait for something only the conn
// brings; an idle role goes back to the receive loop so that it comes.
// The caller calls waitDone once its wait is over.
func (r *readRole) waitFor() { r.addWaiting(1) }

func (r *readRole) waitDone() { r.addWaiting(-1) }

// pingSent and pongSettled count our pings awaiting a pong: their round
// trip is measured, so the pong must not wait for an idle role.
func (r *readRole) pingSent() { r.addWaiting(1) }

func (r *readRole) pongSettled(n int) { r.addWaiting(-int32(n)) }

func (r *readRole) addWaiting(n int32) {
	if r.setDeadline == nil {
		return // the role never leaves the loop
	}
	r.waiting.Add(n)
	if n > 0 && r.kind() == holderIdle {
		r.mu.Lock()
		if r.kind() == holderIdle {
			r.toLoopLocked()
		}
		r.mu.Unlock()
	}
}

// close hands the role back to the receive loop for good (the session has
// ended): a holding Read is interrupted and gives it back when it leaves.
func (r *readRole) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	switch r.kind() {
	case holderIdle:
		r.toLoopLocked()
	case holderStream:
		r.kickLocked()
	}
}

// kick makes st's Read, if it holds the role, look at its stream again:
// at once if it is blocked reading the conn (interrupted by a read
// deadline in the past), else before its next read.
func (r *readRole) kick(st *Stream) {
	if r.setDeadline == nil || r.kind() != holderStream {
		return
	}
	r.mu.Lock()
	if r.kind() == holderStream && r.st == st {
		r.kickLocked()
	}
	r.mu.Unlock()
}

// streamHolds reports, without a lock, whether a Read holds the role.
func (r *readRole) streamHolds() bool { return r.kind() == holderStream }

// kickReading interrupts the holding Read if it is reading the conn, and
// reports whether it did; the Read then reads again (readFor), so nothing
// is lost and nothing changes but when it looks.
func (r *readRole) kickReading() bool {
	if r.setDeadline == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kind() != holderStream || r.reader != readerReading {
		return false
	}
	r.kickLocked()
	return true
}

func (r *readRole) kickLocked() {
	switch r.reader {
	case readerRunning:
		r.reader = readerRecheck
	case readerReading:
		r.reader = readerKicked
		r.setDeadline(aLongTimeAgo)
	}
}

// enterRead is called by st's holding Read before a step that may read
// the conn; false means it was asked to look at its stream first.
func (r *readRole) enterRead(st *Stream) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reader == readerRecheck || r.closed {
		r.reader = readerRunning
		return false
	}
	r.reader = readerReading
	return true
}

// exitRead ends what enterRead began; it reports whether the read was
// interrupted (the error it returned, if a timeout, is ours).
func (r *readRole) exitRead() (kicked bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	kicked = r.reader == readerKicked
	if kicked {
		r.setDeadline(time.Time{})
	}
	r.reader = readerRunning
	return kicked
}
