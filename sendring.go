package yamux

import "github.com/yamuxgo/yamux/internal/frame"

// The send queue's copy ring (sendqueue.go): DATA frames copied from the
// caller's slice so that its Write returns at once, held in
// [head, tail) of a ring of ringSize bytes, monotonic offsets modulo its
// length.
//
// A frame of at most smallWriteMax is copied under the queue's lock
// (copyLocked). A larger one is copied without it: its room is reserved
// under the lock (reserveLocked), the copy runs unlocked (copyUnlocked),
// and the frame becomes visible to writers (published) once every frame
// reserved before it is complete; writers take the ring only up to the
// first copy still in progress, and the stream lane only when none is
// (takeLocked). Copying 64 KiB takes microseconds, and with the lock held
// for it every other Write of the session, a 1-byte one included, queued
// behind each bulk copy in turn (fairness-tcp: the ping's Write p99
// 330 µs, 15 µs with the copy unlocked). A copy in progress is the
// queue's: the final write and release wait for it.

// ringCopy is a frame being copied into the ring without the lock.
type ringCopy struct {
	start uint64 // where its header begins
	done  bool
}

// publishedLocked is the end of the ring bytes a writer may take: the
// start of the first frame still being copied, or tail.
func (q *sendQueue) publishedLocked() uint64 {
	if q.copiesHead < len(q.copies) {
		return q.copies[q.copiesHead].start
	}
	return q.tail
}

// copyingLocked says whether a frame is being copied into the ring.
func (q *sendQueue) copyingLocked() bool { return q.copiesHead < len(q.copies) }

func (q *sendQueue) ringLenLocked() int { return int(q.tail - q.head) }

// copyLocked copies a DATA frame into the ring if it fits (fitsLocked)
// and reports whether it did; direct says the caller now holds the writer
// role and is to write it itself, else it returns at once (the holder or
// the send loop, woken if wake, writes it). queueData uses it for frames
// of at most smallWriteMax, whose copy takes less than the lock's hand-
// offs would, and copies larger ones without the lock (copyUnlocked).
// reserveLocked and settleLocked decide as it does, but its code stays
// apart from theirs: sending small frames through them, with the same
// decisions, moved churn with 32 workers across the 2 µs coalescing rule
// and cost it 13 % (BENCHMARKS.md, the sixth pass).
func (q *sendQueue) copyLocked(h frame.Header, payload []byte) (ok, direct, wake bool) {
	if !q.fitsLocked(len(payload)) {
		return false, false, false
	}
	// A Write that finds other frames queued (the SYN OpenStream just
	// queued, a window update) leaves them and its own to the send loop,
	// already woken for them: one write for all, and this goroutine goes
	// on at once.
	alone := q.emptyLocked()
	if q.ring == nil {
		q.ring = getRing()
	}
	q.copyInLocked(h[:])
	q.copyInLocked(payload)
	q.ringFrames++
	now := monoNow()
	lone := alone && now-q.lastSmall > int64(coalesceGap)
	q.lastSmall = now
	switch {
	case q.writing:
	case lone:
		q.writing = true
		direct = true
	default:
		wake = true
	}
	return true, direct, wake
}

func (q *sendQueue) copyInLocked(p []byte) {
	for len(p) > 0 {
		at := int(q.tail % uint64(len(q.ring)))
		n := copy(q.ring[at:], p)
		q.tail += uint64(n)
		p = p[n:]
	}
}

// fitsLocked says whether a DATA frame of n payload bytes may be copied
// into the ring now: it fits, and above smallWriteMax it leaves
// smallReserve to small frames and the stream lane is empty. Bulk frames
// do not overtake the requests waiting there, and since the lane waits
// while a bulk copy is in progress (takeLocked), no new bulk copy starts
// while anything, a FIN included, waits in it.
func (q *sendQueue) fitsLocked(n int) bool {
	room := ringSize - q.ringLenLocked()
	if n > smallWriteMax {
		if q.laneHead < len(q.lane) {
			return false
		}
		room -= smallReserve
	}
	return room >= frame.HeaderSize+n
}

// reserveLocked reserves room in the ring for a DATA frame of n payload
// bytes at [start, start+HeaderSize+n), if it fits (fitsLocked), for
// copyUnlocked. alone says nothing else was queued (see copyLocked).
func (q *sendQueue) reserveLocked(n int) (start uint64, alone, ok bool) {
	if !q.fitsLocked(n) {
		return 0, false, false
	}
	alone = len(q.ctrl) == 0 && q.head == q.tail && q.laneHead == len(q.lane)
	if q.ring == nil {
		q.ring = getRing()
	}
	start = q.tail
	q.tail += uint64(frame.HeaderSize + n)
	return start, alone, true
}

// settleLocked decides, as copyLocked does, who writes a frame just
// copied without the lock and published: the writer at work, the caller
// (direct: a lone Write, one that found nothing queued (alone) and none
// just before it, and the role is free), or the send loop (wake). Frames
// published behind one still being copied are left to that frame's
// copier, which settles them all.
func (q *sendQueue) settleLocked(alone bool) (direct, wake bool) {
	now := monoNow()
	lone := alone && now-q.lastSmall > int64(coalesceGap)
	q.lastSmall = now
	switch {
	case q.writing || q.emptyLocked():
		return false, false
	case lone:
		q.writing = true
		return true, false
	}
	return false, true
}

// copyUnlocked copies a DATA frame reserved at start (reserveLocked) into
// the ring with q.mu released (held on entry and on return), then
// publishes it.
func (q *sendQueue) copyUnlocked(start uint64, h frame.Header, payload []byte) {
	ring := q.beginCopyLocked(start)
	q.mu.Unlock()
	copyIntoRing(ring, start, h[:], payload)
	q.mu.Lock()
	q.endCopyLocked(start)
}

// beginCopyLocked records the copy of the frame reserved at start and
// returns the ring to copy it into. The ring stays the queue's until the
// copy ends: it goes back only once head reaches tail, which the
// reservation prevents, or in release, which waits for copies.
func (q *sendQueue) beginCopyLocked(start uint64) []byte {
	q.copies = append(q.copies, ringCopy{start: start})
	return q.ring
}

// endCopyLocked publishes the frame copied at start, with every finished
// one behind it that waited for it. The final write and release wait for
// copies in progress: once the queue is closed, the loop is woken.
func (q *sendQueue) endCopyLocked(start uint64) {
	for i := q.copiesHead; i < len(q.copies); i++ {
		if q.copies[i].start == start {
			q.copies[i].done = true
			break
		}
	}
	for q.copiesHead < len(q.copies) && q.copies[q.copiesHead].done {
		q.copiesHead++
	}
	if q.copiesHead == len(q.copies) {
		q.copies, q.copiesHead = q.copies[:0], 0
	}
	q.ringFrames++
	if q.closedLocked() {
		q.wake()
	}
}

// copyIntoRing copies the header and payload of a frame into ring at the
// monotonic offset at, wrapping around its end.
func copyIntoRing(ring []byte, at uint64, header, payload []byte) {
	for _, p := range [2][]byte{header, payload} {
		for len(p) > 0 {
			i := int(at % uint64(len(ring)))
			n := copy(ring[i:], p)
			at += uint64(n)
			p = p[n:]
		}
	}
}

// spareRings recycles copy rings between batches and sessions: a queue
// takes a ring when it copies a frame into an empty one and gives it back
// as soon as a batch drains it, so an idle session holds none, and a busy
// one draws the same ring again and again (at most spareMax x 256 KiB are
// kept, process-wide). Allocating and zeroing a ring on the first Write
// of every session was a large share of a dial (open a session, echo a
// byte, close); a sync.Pool, emptied by every second collection, would
// make the draws after a collection fresh allocations (see bigChunks).
var spareRings spareList[[]byte]

func getRing() []byte {
	if r, ok := spareRings.take(); ok {
		return r
	}
	return make([]byte, ringSize)
}

func putRing(r []byte) { spareRings.give(r) }
