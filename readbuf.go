package yamux

import (
	"bufio"
	"sync"

	"github.com/yamuxgo/yamux/internal/frame"
)

// The read buffer, through which the role holder (recvrole.go) reads
// headers and the bodies it does not read straight into a Read's slice,
// comes in two sizes. A session keeps a small one: an idle session, or
// one trading small messages, holds no more. While the conn has more
// queued than the small one takes in one read (many streams receiving at
// once), it reads through a large one, borrowed from a process-wide
// spare list and given back as soon as a read would find less. Each read
// of the conn has a cost of its own besides the bytes (on TCP the
// kernel's acknowledgement and window bookkeeping): with 64 streams of
// bulk at once, the small buffer took 17 reads per MiB and the large one
// 7, for 12-22 % more throughput at 8-18 % less CPU per MiB (spec.md
// §4.8, BENCHMARKS.md "The fifth pass").
const (
	// readBufferSize: one full default DATA frame plus its header, so a
	// single stream's bulk needs one read per frame.
	readBufferSize = 64*1024 + frame.HeaderSize
	// bigReadBufferSize: four of them (two and eight measured less).
	bigReadBufferSize = 4 * readBufferSize
)

// readBufferPool recycles the small read buffers: a dial that allocates
// and zeroes 64 KiB (on both ends) before its first byte pays for it in
// latency and in GC work, which a connection-per-request peer, or a
// libp2p host dialing often, feels on every dial.
var readBufferPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufferSize) }}

// bigReadBuffers keeps large read buffers between the sessions that
// borrow them, out of the garbage collector's reach (at most spareMax of
// them, however many sessions there are); bigReadOverflow keeps the rest
// until a collection or two, so that more than spareMax sessions reading
// backlogs at once (a node receiving from many peers) reuse theirs rather
// than allocate 256 KiB each time a backlog builds up again (about once
// per MiB with 64 streams of bulk).
var (
	bigReadBuffers  spareList[*bufio.Reader]
	bigReadOverflow sync.Pool
)

// takeBigReadBuffer returns a large read buffer, a spare if there is one.
func takeBigReadBuffer() *bufio.Reader {
	if b, ok := bigReadBuffers.take(); ok {
		return b
	}
	if b, ok := bigReadOverflow.Get().(*bufio.Reader); ok {
		return b
	}
	return bufio.NewReaderSize(nil, bigReadBufferSize)
}

// giveBigReadBuffer keeps b, which reads from nothing, as a spare.
func giveBigReadBuffer(b *bufio.Reader) {
	if !bigReadBuffers.give(b) {
		bigReadOverflow.Put(b)
	}
}

// fillReadBuffer peeks at n bytes of the read buffer, reading the conn as
// Peek does. When the buffer is empty it first picks the buffer size for
// the read (sizeReadBuffer), and afterwards notes how much the read
// brought.
func (s *Session) fillReadBuffer(n int) ([]byte, error) {
	if s.br.Buffered() > 0 {
		return s.br.Peek(n)
	}
	s.sizeReadBuffer()
	b, err := s.br.Peek(n)
	s.lastFill = s.br.Buffered()
	return b, err
}

// sizeReadBuffer picks the read buffer for the next read of the conn,
// with nothing buffered: the large one while the conn has more queued
// than the small one holds. Only after a read that filled a small
// buffer's worth is the conn asked (one ioctl, inq_linux.go), so a session
// trading small messages makes no extra system call; where the conn
// cannot be asked, the small one is always used.
func (s *Session) sizeReadBuffer() {
	big := false
	if s.lastFill >= readBufferSize && s.inq != nil {
		// Not knowing (a turn's end probing at the same moment) counts as
		// no backlog: at worst one read of it goes through the small one.
		n, ok := s.inq.unread()
		big = ok && n > readBufferSize
	}
	switch {
	case big && s.br == s.brSmall:
		b := takeBigReadBuffer()
		b.Reset(s.conn)
		s.br = b
		s.stats.readBufferGrows.Add(1)
	case !big:
		s.dropBigReadBuffer()
	}
}

// dropBigReadBuffer gives the large read buffer back and goes back to the
// small one, if the large one is in use; it must hold nothing. A Read that
// reads the conn straight into its slice (stepFor) calls it too: it may
// wait there for long, and the buffer it does not use would wait with it.
func (s *Session) dropBigReadBuffer() {
	if s.br == s.brSmall {
		return
	}
	s.br.Reset(nil) // do not keep the conn reachable from the spare list
	giveBigReadBuffer(s.br)
	s.br = s.brSmall
}

// releaseReadBuffers gives both read buffers back when the receive loop
// ends: a closed Session may stay referenced by the application.
func (s *Session) releaseReadBuffers() {
	s.dropBigReadBuffer()
	s.br.Reset(nil)
	readBufferPool.Put(s.br)
	s.br, s.brSmall = nil, nil
}
