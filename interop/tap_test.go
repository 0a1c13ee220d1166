package interop

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"sync"
)

// tap is a passive Yamux frame parser on the local side's connection. It sees
// every byte our session reads (in) and writes (out), in the order our
// session sees them, and keeps counters and per-stream flow-control
// accounting. It never alters the byte stream.
//
// Window accounting: every stream starts with 256 KiB of credit in each
// direction; a WINDOW_UPDATE without RST adds its Length to the sender's
// peer's credit; DATA consumes credit. A DATA frame larger than the credit
// the receiver has granted so far is a window violation. Because writes are
// recorded before they reach the wire and reads after they left it, the
// check has no false positives.

const (
	typeData   = 0
	typeWU     = 1
	typePing   = 2
	typeGoAway = 3

	flagSYN = 1
	flagACK = 2
	flagFIN = 4
	flagRST = 8

	initialWindow = 256 * 1024
)

type dirStats struct {
	Frames       [4]int64 // by type
	DataBytes    int64
	MaxData      uint32 // largest DATA payload
	DataFIN      int64  // DATA frames carrying FIN
	DataFINBytes int64  // payload bytes on DATA+FIN frames
	WUFIN        int64  // WINDOW_UPDATE frames carrying FIN
	RST          int64
	SYN          int64
	PingSYN      int64
	PingACK      int64
	PingBadFlags int64
	GoAways      []uint32 // codes
	Violations   int64    // DATA beyond the receiver's granted window
	FirstViol    string
	BadHeader    string // parse stopped (version/type invalid)
}

type streamAcct struct {
	outCredit    int64 // how much we may still send (granted by the peer)
	inCredit     int64 // how much the peer may still send (granted by us)
	maxOutCredit int64
	maxInCredit  int64
}

type tap struct {
	mu      sync.Mutex
	in, out parser
	streams map[uint32]*streamAcct
	// maximum credit ever granted, over all streams
	maxPeerWindow int64 // the peer's receive window as seen by us
	maxOurWindow  int64 // our receive window as seen by the peer
	// changed is closed (and replaced) whenever a frame has been parsed,
	// so that wait can sleep until the counters move.
	changed chan struct{}
}

type parser struct {
	hdr   [12]byte
	hn    int
	skip  uint32 // payload bytes still to skip
	dead  bool
	stats dirStats
}

func newTap() *tap {
	return &tap{streams: map[uint32]*streamAcct{}, maxPeerWindow: initialWindow, maxOurWindow: initialWindow, changed: make(chan struct{})}
}

func (t *tap) acct(id uint32) *streamAcct {
	a := t.streams[id]
	if a == nil {
		a = &streamAcct{outCredit: initialWindow, inCredit: initialWindow, maxOutCredit: initialWindow, maxInCredit: initialWindow}
		t.streams[id] = a
	}
	return a
}

// feed parses bytes flowing in direction out (true: written by us).
func (t *tap) feed(out bool, b []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := &t.in
	if out {
		p = &t.out
	}
	for len(b) > 0 && !p.dead {
		if p.skip > 0 {
			n := uint32(len(b))
			if n > p.skip {
				n = p.skip
			}
			p.skip -= n
			b = b[n:]
			continue
		}
		n := copy(p.hdr[p.hn:], b)
		p.hn += n
		b = b[n:]
		if p.hn < 12 {
			return
		}
		p.hn = 0
		t.frame(out, p)
		close(t.changed)
		t.changed = make(chan struct{})
	}
}

func (t *tap) frame(out bool, p *parser) {
	h := p.hdr
	ver, typ := h[0], h[1]
	flags := binary.BigEndian.Uint16(h[2:4])
	id := binary.BigEndian.Uint32(h[4:8])
	length := binary.BigEndian.Uint32(h[8:12])
	s := &p.stats
	if ver != 0 || typ > typeGoAway {
		p.dead = true
		s.BadHeader = fmt.Sprintf("% x", h[:])
		return
	}
	s.Frames[typ]++
	if flags&flagRST != 0 && (typ == typeData || typ == typeWU) {
		s.RST++
	}
	if flags&flagSYN != 0 && (typ == typeData || typ == typeWU) {
		s.SYN++
	}
	switch typ {
	case typeData:
		p.skip = length
		s.DataBytes += int64(length)
		if length > s.MaxData {
			s.MaxData = length
		}
		if flags&flagFIN != 0 {
			s.DataFIN++
			s.DataFINBytes += int64(length)
		}
		a := t.acct(id)
		credit := &a.inCredit
		if out {
			credit = &a.outCredit
		}
		if int64(length) > *credit {
			s.Violations++
			if s.FirstViol == "" {
				s.FirstViol = fmt.Sprintf("stream %d: DATA of %d bytes with only %d bytes of window granted", id, length, *credit)
			}
		}
		*credit -= int64(length)
	case typeWU:
		if flags&flagFIN != 0 {
			s.WUFIN++
		}
		if flags&flagRST != 0 {
			return // Length may be an error code (libp2p), never window
		}
		a := t.acct(id)
		if out { // we grant the peer more room
			a.inCredit += int64(length)
			if a.inCredit > a.maxInCredit {
				a.maxInCredit = a.inCredit
			}
			if a.inCredit > t.maxOurWindow {
				t.maxOurWindow = a.inCredit
			}
		} else {
			a.outCredit += int64(length)
			if a.outCredit > a.maxOutCredit {
				a.maxOutCredit = a.outCredit
			}
			if a.outCredit > t.maxPeerWindow {
				t.maxPeerWindow = a.outCredit
			}
		}
	case typePing:
		switch flags {
		case flagSYN:
			s.PingSYN++
		case flagACK:
			s.PingACK++
		default:
			s.PingBadFlags++
		}
	case typeGoAway:
		s.GoAways = append(s.GoAways, length)
	}
}

type tapSnapshot struct {
	In, Out       dirStats
	MaxPeerWindow int64
	MaxOurWindow  int64
	Streams       int
}

func (t *tap) snapshot() tapSnapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	in, out := t.in.stats, t.out.stats
	in.GoAways = append([]uint32(nil), in.GoAways...)
	out.GoAways = append([]uint32(nil), out.GoAways...)
	return tapSnapshot{In: in, Out: out, MaxPeerWindow: t.maxPeerWindow, MaxOurWindow: t.maxOurWindow, Streams: len(t.streams)}
}

// wait returns the first snapshot for which cond holds, waking on every
// frame the tap parses; ok is false (with the last snapshot) if ctx ends
// first.
func (t *tap) wait(ctx context.Context, cond func(tapSnapshot) bool) (s tapSnapshot, ok bool) {
	for {
		t.mu.Lock()
		changed := t.changed
		t.mu.Unlock()
		if s = t.snapshot(); cond(s) {
			return s, true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return t.snapshot(), false
		}
	}
}

func (s tapSnapshot) String() string {
	return fmt.Sprintf("frames in(D/WU/P/GA)=%v out=%v; bytes in=%d out=%d; max DATA in=%d out=%d; "+
		"DATA+FIN in=%d out=%d; WU+FIN in=%d out=%d; RST in=%d out=%d; PING in syn/ack=%d/%d out syn/ack=%d/%d; "+
		"GO_AWAY in=%v out=%v; peer window max=%d, our window max=%d; violations in=%d out=%d",
		s.In.Frames, s.Out.Frames, s.In.DataBytes, s.Out.DataBytes, s.In.MaxData, s.Out.MaxData,
		s.In.DataFIN, s.Out.DataFIN, s.In.WUFIN, s.Out.WUFIN, s.In.RST, s.Out.RST,
		s.In.PingSYN, s.In.PingACK, s.Out.PingSYN, s.Out.PingACK,
		s.In.GoAways, s.Out.GoAways, s.MaxPeerWindow, s.MaxOurWindow, s.In.Violations, s.Out.Violations)
}

// tapConn wraps the local side's net.Conn. It stays a net.Conn, so deadline
// and address features of the underlying TCP connection remain available.
type tapConn struct {
	net.Conn
	tap *tap
	wmu sync.Mutex // keeps "record, then write" atomic w.r.t. other writers
}

func (c *tapConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.tap.feed(false, b[:n])
	}
	return n, err
}

func (c *tapConn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.tap.feed(true, b)
	return c.Conn.Write(b)
}
