package multistream

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// CloseTimeout bounds how long Lazy.Close and Lazy.CloseWrite wait to
// flush a header that was never sent, when the transport has write
// deadlines.
const CloseTimeout = 5 * time.Second

// errNoCloseWrite: the transport under a Lazy cannot half-close.
var errNoCloseWrite = errors.New("multistream: the underlying stream has no CloseWrite")

// Lazy is a dialer that does not wait for the listener: its first Write
// sends the header, the single proposal and the application bytes in one
// write, and its first Read checks the listener's answer. If the listener
// refused the protocol, that Read (and every later one, and every Write
// after it) returns a *NotSupportedError. Use it only for one protocol the
// peer is known to speak: several lazy proposals would misalign the "na"
// replies with the proposals. Read and Write may be called concurrently.
type Lazy struct {
	rw       io.ReadWriter
	protocol string

	// mu guards sent (whoever flips it writes the header) and refusal (the
	// listener's "na", once Read has seen it).
	mu      sync.Mutex
	sent    bool
	refusal error
	// hdrDone is closed once the header write has returned; hdrErr (written
	// before the close) is its error.
	hdrDone chan struct{}
	hdrErr  error

	// wmu serialises Write calls so that none overtakes the header.
	wmu sync.Mutex

	// rmu serialises Read calls; the handshake fields are guarded by it.
	rmu     sync.Mutex
	checked bool
	rerr    error
}

// NewLazy returns a lazy dialer for protocol over rw. Nothing is written
// until the first Write, Read, Flush or Close. The transport must buffer
// the first write (TCP, a yamux stream within its window); over an
// unbuffered pipe, use SelectOneOf.
func NewLazy(rw io.ReadWriter, protocol string) (*Lazy, error) {
	if err := checkMessage(protocol); err != nil {
		return nil, fmt.Errorf("multistream: cannot propose %q: %w", truncate(protocol), err)
	}
	return &Lazy{rw: rw, protocol: protocol, hdrDone: make(chan struct{})}, nil
}

// Protocol returns the protocol proposed.
func (l *Lazy) Protocol() string { return l.protocol }

// claimHeader reports whether the caller is the one to send the header.
func (l *Lazy) claimHeader() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sent {
		return false
	}
	l.sent = true
	return true
}

func (l *Lazy) handshakeBytes(data []byte) []byte {
	b, _ := AppendMessage(make([]byte, 0, len(l.protocol)+24+len(data)), ProtocolID)
	b, _ = AppendMessage(b, l.protocol)
	return append(b, data...)
}

// sendHeader writes header and proposal alone, for a caller that claimed it.
func (l *Lazy) sendHeader() error {
	_, err := l.rw.Write(l.handshakeBytes(nil))
	if err != nil {
		err = fmt.Errorf("multistream: sending the proposal %q: %w", l.protocol, err)
	}
	l.hdrErr = err
	close(l.hdrDone)
	return err
}

// Write sends b, preceded by the header and proposal on the first call.
// After the listener's refusal has been seen by Read, Write fails with it.
func (l *Lazy) Write(b []byte) (int, error) {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if err := l.refused(); err != nil {
		return 0, err
	}
	if l.claimHeader() {
		hs := l.handshakeBytes(b)
		n, err := l.rw.Write(hs)
		n -= len(hs) - len(b)
		if err != nil {
			err = fmt.Errorf("multistream: sending the proposal %q: %w", l.protocol, err)
			l.hdrErr = err
		}
		close(l.hdrDone)
		return max(n, 0), err
	}
	<-l.hdrDone
	if l.hdrErr != nil {
		return 0, l.hdrErr
	}
	return l.rw.Write(b)
}

// refused returns the listener's refusal once Read has seen it.
func (l *Lazy) refused() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refusal
}

// Flush sends the header and proposal if no Write has yet, and waits for
// that write.
func (l *Lazy) Flush() error {
	if l.claimHeader() {
		return l.sendHeader()
	}
	<-l.hdrDone
	return l.hdrErr
}

// Read reads application bytes. The first call sends the header if no
// Write has, then reads the listener's header and answer; a refusal is
// returned as a *NotSupportedError by this and every later Read.
func (l *Lazy) Read(b []byte) (int, error) {
	l.rmu.Lock()
	defer l.rmu.Unlock()
	if !l.checked {
		l.rerr = l.check()
		l.checked = true
	}
	if l.rerr != nil {
		return 0, l.rerr
	}
	return l.rw.Read(b)
}

// check runs the dialer's half of the handshake for Read.
func (l *Lazy) check() error {
	if l.claimHeader() {
		if err := l.sendHeader(); err != nil {
			return err
		}
	}
	if err := readHeader(l.rw); err != nil {
		return err
	}
	reply, err := readReply(l.rw, l.protocol)
	if err != nil {
		return err
	}
	if reply == NA {
		err := &NotSupportedError{Protocols: []string{l.protocol}}
		l.mu.Lock()
		l.refusal = err
		l.mu.Unlock()
		return err
	}
	return nil
}

// CloseWrite flushes a header never sent (bounded by CloseTimeout), then
// half-closes the transport, which must have a CloseWrite method.
func (l *Lazy) CloseWrite() error {
	cw, ok := l.rw.(interface{ CloseWrite() error })
	if !ok {
		return errNoCloseWrite
	}
	ferr := l.boundedFlush()
	return errors.Join(ferr, cw.CloseWrite())
}

// Close flushes a header never sent (bounded by CloseTimeout), so that the
// listener still sees which protocol the stream was for, then closes the
// transport if it is an io.Closer. It does not wait for the listener's
// answer.
func (l *Lazy) Close() error {
	ferr := l.boundedFlush()
	if c, ok := l.rw.(io.Closer); ok {
		return errors.Join(ferr, c.Close())
	}
	return ferr
}

func (l *Lazy) boundedFlush() error {
	l.mu.Lock()
	pending := !l.sent
	l.mu.Unlock()
	if !pending {
		return nil
	}
	if d, ok := l.rw.(writeDeadliner); ok {
		_ = d.SetWriteDeadline(time.Now().Add(CloseTimeout))
	}
	return l.Flush()
}
