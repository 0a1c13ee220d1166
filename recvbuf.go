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
}

// The pools are shared by every session, so the chunks of a stream that
// has drained serve the next one, and an idle process holds none of them
// past two garbage collections, except the few of bigChunks.
var chunkPools [numChunkClass]sync.Pool

// bigChunks keeps up to spareMax drained chunks of the largest class out
// of the garbage collector's reach. A sync.Pool is emptied by every second
// collection, and a bulk stream's 64 KiB chunks are enough to set
// collections off: each emptied pool then made the next chunks fresh
// allocations, and those the next collection (bulk-tcp measured 0.25-0.4
// allocations per MiB, all here). The bound is process-wide, so it costs
// at most spareMax x 64 KiB however many sessions there are.
var bigChunks spareList[*chunk]

func getChunk(class int) *chunk {
	if class == numChunkClass-1 {
		if c, ok := bigChunks.take(); ok {
			return c
		}
	}
	if c, ok := chunkPools[class].Get().(*chunk); ok {
		return c
	}
	return &chunk{buf: make([]byte, 0, 1<<(class+minChunkShift))}
}

func putChunk(c *chunk) {
	class := bits.Len(uint(cap(c.buf))) - 1 - minChunkShift
	c.buf, c.off, c.next = c.buf[:0], 0, nil
	if class == numChunkClass-1 && bigChunks.give(c) {
		return
	}
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
		putChunk(c)
		c = next
	}
	b.head, b.tail, b.n = nil, nil, 0
}
