package yamux

import (
	"bytes"
	"testing"

	"github.com/yamuxgo/yamux/internal/frame"
)

// The send queue on its own: no session, no conn, no goroutine. A test
// plays the send loop with drain.

func newTestQueue() *sendQueue {
	q := &sendQueue{}
	q.init()
	return q
}

// drain takes one batch as the send loop would and returns its bytes in
// wire order (control first, then the ring), committing it.
func drain(t *testing.T, q *sendQueue) []byte {
	t.Helper()
	b, ok := q.take(nil)
	if !ok {
		return nil
	}
	var out []byte
	for _, h := range b.ctrl {
		out = append(out, h[:]...)
	}
	for _, seg := range q.ringSegments(nil, b.head, b.tail) {
		out = append(out, seg...)
	}
	q.commit(b)
	return out
}

// frames splits wire bytes into headers and DATA bodies.
func frames(t *testing.T, wire []byte) (hs []frame.Header, bodies [][]byte) {
	t.Helper()
	for len(wire) > 0 {
		h, err := frame.Parse(wire)
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		wire = wire[frame.HeaderSize:]
		var body []byte
		if h.Type() == frame.TypeData {
			body, wire = wire[:h.Length()], wire[h.Length():]
		}
		hs, bodies = append(hs, h), append(bodies, body)
	}
	return hs, bodies
}

func TestSendQueueControlBeforeData(t *testing.T) {
	q := newTestQueue()
	var tk sendTicket
	if n, _, _ := q.writeData(&tk, 1, 0, []byte("data"), 1); n != 4 {
		t.Fatalf("writeData = %d", n)
	}
	ping := frame.New(frame.TypePing, frame.FlagSYN, 0, 1)
	q.control(ping, notReply)
	hs, bodies := frames(t, drain(t, q))
	if len(hs) != 2 || hs[0] != ping || hs[1].Type() != frame.TypeData || string(bodies[1]) != "data" {
		t.Fatalf("batch = %v, want the PING, then the DATA", hs)
	}
	if out := drain(t, q); out != nil {
		t.Fatalf("second batch %d bytes, want none", len(out))
	}
}

func TestSendQueueRingWrapAround(t *testing.T) {
	q := newTestQueue()
	var tk sendTicket
	chunk := bytes.Repeat([]byte{0xAB}, 40_000)
	var want, got []byte
	for i := range 40 { // ~1.6 MB through a 256 KiB ring
		p := append([]byte{byte(i)}, chunk...)
		off := 0
		for off < len(p) {
			n, wait, closed := q.writeData(&tk, 3, 0, p[off:], 1)
			if closed {
				t.Fatal("closed")
			}
			if wait != nil {
				_, bodies := frames(t, drain(t, q))
				for _, b := range bodies {
					got = append(got, b...)
				}
				continue
			}
			off += n
		}
		want = append(want, p...)
	}
	for {
		out := drain(t, q)
		if out == nil {
			break
		}
		_, bodies := frames(t, out)
		for _, b := range bodies {
			got = append(got, b...)
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes back, want %d identical", len(got), len(want))
	}
	if q.head < ringSize {
		t.Fatalf("the ring never wrapped (head %d)", q.head)
	}
}

func TestSendQueueFINOverflowOrder(t *testing.T) {
	q := newTestQueue()
	var tk sendTicket
	big := make([]byte, ringSize-2*frame.HeaderSize)
	n, _, _ := q.writeData(&tk, 1, 0, big, 1) // leaves room for one header
	if n != len(big) {
		t.Fatalf("writeData = %d", n)
	}
	q.fin(frame.New(frame.TypeWindowUpdate, frame.FlagFIN, 1, 0)) // fits exactly
	q.fin(frame.New(frame.TypeWindowUpdate, frame.FlagFIN, 3, 0)) // overflows
	q.fin(frame.New(frame.TypeWindowUpdate, frame.FlagFIN, 5, 0))
	if _, wait, _ := q.writeData(&tk, 7, 0, []byte("later"), 1); wait == nil {
		t.Fatal("DATA queued ahead of overflowed FINs")
	}
	q.leave(&tk)
	hs, _ := frames(t, drain(t, q))
	if len(hs) != 2 || hs[1].StreamID() != 1 {
		t.Fatalf("first batch %v, want DATA 1, FIN 1", hs)
	}
	var tk2 sendTicket
	if n, _, _ := q.writeData(&tk2, 7, 0, []byte("later"), 1); n != 5 {
		t.Fatalf("writeData after drain = %d", n)
	}
	hs, _ = frames(t, drain(t, q))
	if len(hs) != 3 || hs[0].StreamID() != 3 || hs[1].StreamID() != 5 || hs[2].StreamID() != 7 {
		t.Fatalf("second batch %v, want FIN 3, FIN 5, then DATA 7", hs)
	}
}

func TestSendQueueReplyBound(t *testing.T) {
	q := newTestQueue()
	for i := range maxPendingPongs {
		if q.replyRoom(replyPong) != nil {
			t.Fatalf("no room for pong %d", i)
		}
		q.control(frame.New(frame.TypePing, frame.FlagACK, 0, uint32(i)), replyPong)
	}
	wait := q.replyRoom(replyPong)
	if wait == nil {
		t.Fatal("room for a 65th pong")
	}
	if q.replyRoom(replyReset) != nil {
		t.Fatal("pongs used up the RST bound")
	}
	q.control(frame.New(frame.TypePing, frame.FlagSYN, 0, 1), notReply) // ours: never bounded
	drain(t, q)
	select {
	case <-wait:
	default:
		t.Fatal("writing the pongs did not free reply room")
	}
	if q.replyRoom(replyPong) != nil {
		t.Fatal("no room after the drain")
	}
}

// TestSendQueueFairness: writers that found the ring full get room in the
// order they asked, whoever retries first.
func TestSendQueueFairness(t *testing.T) {
	q := newTestQueue()
	var fill, a, b sendTicket
	q.writeData(&fill, 1, 0, make([]byte, ringSize), 1)
	waitA := mustWait(t, q, &a, 3)
	waitB := mustWait(t, q, &b, 5)
	drain(t, q)
	select {
	case <-waitA:
	default:
		t.Fatal("first in line not woken")
	}
	select {
	case <-waitB:
		t.Fatal("second in line woken before the first had its turn")
	default:
	}
	// B retries first: not its turn.
	if n, wait, _ := q.writeData(&b, 5, 0, []byte("b"), 1); n != 0 || wait == nil {
		t.Fatalf("B jumped the line: n %d", n)
	}
	if n, _, _ := q.writeData(&a, 3, 0, []byte("a"), 1); n != 1 {
		t.Fatalf("A's turn: n %d", n)
	}
	if n, _, _ := q.writeData(&b, 5, 0, []byte("b"), 1); n != 1 {
		t.Fatalf("B after A: n %d", n)
	}
	// A writer that gives up does not hold up the next.
	var c, d sendTicket
	q.writeData(&fill, 1, 0, make([]byte, ringSize), 1)
	mustWait(t, q, &c, 7)
	waitD := mustWait(t, q, &d, 9)
	q.leave(&c)
	drain(t, q)
	select {
	case <-waitD:
	default:
		t.Fatal("the writer behind one that left was not woken")
	}
}

func mustWait(t *testing.T, q *sendQueue, tk *sendTicket, id uint32) <-chan struct{} {
	t.Helper()
	n, wait, _ := q.writeData(tk, id, 0, []byte("x"), 1)
	if n != 0 || wait == nil {
		t.Fatalf("stream %d: queued %d with a full ring", id, n)
	}
	return wait
}

func TestSendQueueFinishWakesWriters(t *testing.T) {
	q := newTestQueue()
	var fill, a sendTicket
	q.writeData(&fill, 1, 0, make([]byte, ringSize), 1)
	wait := mustWait(t, q, &a, 3)
	q.finish(shutdownFlush, CodeNormal)
	select {
	case <-wait:
	default:
		t.Fatal("finish did not wake the writer")
	}
	if _, _, closed := q.writeData(&a, 3, 0, []byte("x"), 1); !closed {
		t.Fatal("writeData after finish not closed")
	}
}
