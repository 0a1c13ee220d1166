package yamux

import (
	"math/bits"
	"sync"
)

// Chunk size classes of the receive buffer: powers of two from 512 B to
// 64 KiB, pooled per class.
const (
	minChunkShift = 9
	maxChunkShift = 16
	numChunkClass = maxChunkShift - minChunkShift + 1
)

type chunk struct {
	buf  []byte // len = bytes written, cap = class size
	off  int    // bytes already read
	next *chunk // the next chunk of the same buffer, nil at the tail
	// busy: the receive loop is reading from the conn into buf[len:cap]
	// without the stream's lock (Session.readDirect); such a chunk is the
	// tail and stays there, even drained, until the loop is done with it.
	// dropped: the buffer was released meanwhile; the loop pools the chunk.
	busy, dropped bool
}

// The pools are shared by every session, so the chunks of a stream that
// has drained serve the next one, and an idle process holds none of them
// past two garbage collections.
var chunkPools [numChunkClass]sync.Pool

func getChunk(class int) *chunk {
	if c, ok := chunkPools[class].Get().(*chunk); ok {
		return c
	}
	return &chunk{buf: make([]byte, 0, 1<<(class+minChunkShift))}
}

func putChunk(c *chunk) {
	class := bits.Len(uint(cap(c.buf))) - 1 - minChunkShift
	c.buf, c.off, c.next, c.busy, c.dropped = c.buf[:0], 0, nil, false, false
	chunkPools[class].Put(c)
}

// recvBuffer holds a stream's received, unread bytes as a list of pooled
// chunks (spec.md §4.4). Small frames are coalesced into the tail chunk, so
// a peer sending 1-byte frames costs about one byte of memory per byte of
// window, not one allocation per frame. Chunks grow geometrically from
// 512 B, so an idle stream with a few bytes unread holds little, and every
// chunk is returned to its pool as soon as it is drained. The list is
// linked through the chunks themselves: the bookkeeping is two pointers
// however much is buffered, and nothing besides the chunks is allocated.
// Guarded by the stream's mutex.
type recvBuffer struct {
	head, tail *chunk
	n          int // unread bytes
}

func (b *recvBuffer) Len() int { return b.n }

// write appends a copy of p.
func (b *recvBuffer) write(p []byte) {
	b.n += len(p)
	for len(p) > 0 {
		tail := b.tail
		if tail == nil || len(tail.buf) == cap(tail.buf) {
			tail = getChunk(b.nextClass(len(p)))
			if b.tail == nil {
				b.head = tail
			} else {
				b.tail.next = tail
			}
			b.tail = tail
		}
		n := copy(tail.buf[len(tail.buf):cap(tail.buf)], p)
		tail.buf = tail.buf[:len(tail.buf)+n]
		p = p[n:]
	}
}

// nextClass picks the size class of a new chunk: large enough for the
// pending bytes, and at least twice the previous chunk so that the number
// of chunks stays logarithmic in the buffered amount.
func (b *recvBuffer) nextClass(need int) int {
	class := 0
	if need > 1<<minChunkShift {
		class = bits.Len(uint(need-1)) - minChunkShift
	}
	if b.tail != nil {
		prev := bits.Len(uint(cap(b.tail.buf))) - 1 - minChunkShift
		class = max(class, prev+1)
	}
	return min(class, numChunkClass-1)
}

// read copies up to len(p) unread bytes into p and frees drained chunks.
func (b *recvBuffer) read(p []byte) int {
	total := 0
	for len(p) > 0 && b.head != nil {
		c := b.head
		n := copy(p, c.buf[c.off:])
		c.off += n
		total += n
		p = p[n:]
		if c.off == len(c.buf) {
			if c.busy {
				break // being filled: the loop frees it if need be (endDirect)
			}
			b.head = c.next
			if b.head == nil {
				b.tail = nil
			}
			putChunk(c)
		}
	}
	b.n -= total
	return total
}

// release drops all unread bytes and returns the chunks to their pools.
func (b *recvBuffer) release() {
	for c := b.head; c != nil; {
		next := c.next
		if c.busy {
			c.dropped, c.next = true, nil
		} else {
			putChunk(c)
		}
		c = next
	}
	b.head, b.tail, b.n = nil, nil, 0
}

// beginDirect returns the chunk the receive loop is to fill straight from
// the conn, without the stream's lock, and how many bytes of need it may
// read into it (publish makes them visible): the tail's free room if it
// has any, else a new tail chunk, the largest class that need fills. So,
// as with write, every chunk but the tail is full, and what a peer makes
// us hold stays proportional to what it sent (spec.md §4.4).
func (b *recvBuffer) beginDirect(need int) (*chunk, int) {
	if c := b.tail; c != nil && len(c.buf) < cap(c.buf) {
		c.busy = true
		return c, min(need, cap(c.buf)-len(c.buf))
	}
	class := max(0, min(bits.Len(uint(need))-1-minChunkShift, numChunkClass-1))
	c := getChunk(class)
	c.busy = true
	if b.tail == nil {
		b.head = c
	} else {
		b.tail.next = c
	}
	b.tail = c
	return c, min(need, cap(c.buf))
}

// publish makes the next n bytes the loop read into c readable. It
// reports false if the buffer has been released since (c.dropped).
func (b *recvBuffer) publish(c *chunk, n int) bool {
	if c.dropped {
		return false
	}
	c.buf = c.buf[:len(c.buf)+n]
	b.n += n
	return true
}

// endDirect returns c to the ordinary rules: pooled if it was dropped, or
// if nothing in it is left to read (drained meanwhile, or nothing came).
func (b *recvBuffer) endDirect(c *chunk) {
	c.busy = false
	if c.dropped {
		putChunk(c)
		return
	}
	if c.off < len(c.buf) {
		return
	}
	// c is the tail; the list is a few chunks long (logarithmic in what
	// is buffered), so finding the one before it is cheap.
	if b.head == c {
		b.head, b.tail = nil, nil
	} else {
		prev := b.head
		for prev.next != c {
			prev = prev.next
		}
		prev.next, b.tail = nil, prev
	}
	putChunk(c)
}
