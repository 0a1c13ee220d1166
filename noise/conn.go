package noise

import (
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/yamuxgo/yamux/peer"
)

// Transport framing (libp2p noise spec, "Wire Format"): every message is a
// 2-byte big-endian length followed by that many bytes of ciphertext, at
// most 65535, of which the last 16 are the Poly1305 tag.
const (
	// MaxMessageSize is the longest Noise message, ciphertext and tag.
	MaxMessageSize = math.MaxUint16
	// MaxPlaintextSize is the most plaintext one message carries.
	MaxPlaintextSize = MaxMessageSize - tagSize

	tagSize          = chacha20poly1305.Overhead
	lengthPrefixSize = 2
	// frameSize is a full message on the wire.
	frameSize = lengthPrefixSize + MaxMessageSize
	// writeBatchMessages is how many full messages one Write syscall
	// carries at most: a yamux send batch (four 64 KiB frames and headers)
	// fits in five.
	writeBatchMessages = 8
	// readBufferSize holds a whole message after any unread remainder of
	// the previous read, so one read syscall can take a full message.
	readBufferSize = 2 * frameSize
)

// Buffers are pooled so that an idle Conn holds none: the read buffer is
// returned when all it holds has been delivered, a write buffer as soon as
// it is on the wire.
var (
	readBufPool   = sync.Pool{New: func() any { b := make([]byte, readBufferSize); return &b }}
	writeBufSmall = sync.Pool{New: func() any { b := make([]byte, 0, frameSize); return &b }}
	writeBufLarge = sync.Pool{New: func() any { b := make([]byte, 0, writeBatchMessages*frameSize); return &b }}
)

// cipherState is one direction's AEAD and message counter.
type cipherState struct {
	aead  cipher.AEAD
	n     uint64
	nonce [chacha20poly1305.NonceSize]byte
}

// next returns the nonce of the next message (4 zero bytes, then the
// counter little-endian, as flynn/noise and the Noise spec lay it out).
// The counter value 2^64-1 is reserved (Noise spec §5.1), so it stops there.
func (cs *cipherState) next() ([]byte, error) {
	if cs.n == math.MaxUint64 {
		return nil, ErrNonceExhausted
	}
	binary.LittleEndian.PutUint64(cs.nonce[4:], cs.n)
	cs.n++
	return cs.nonce[:], nil
}

// Conn is a connection secured by Noise: a net.Conn whose Read and Write
// carry plaintext. It is safe for concurrent use: reads are serialised with
// each other, writes with each other, and a read, a write and Close may run
// at the same time. Deadlines are the underlying conn's.
//
// Write and WriteBuffers fill messages to MaxPlaintextSize and hand up to
// eight of them to the underlying conn in one Write call. Read decrypts in
// place in a pooled buffer, or straight into the caller's buffer when a
// whole message fits, and allocates nothing per message.
//
// A transport failure (decryption, truncation, a bad length, nonce
// exhaustion, or an I/O error other than a timeout) is final for its
// direction: no plaintext is delivered after it and every later call
// returns the same error. A timeout is not a failure when nothing was
// transferred; a Write that timed out after part of a batch reached the
// conn is, since the peer now holds a partial message.
type Conn struct {
	// Immutable after the handshake.
	conn      net.Conn
	local     peer.ID
	remote    peer.ID
	remoteKey *peer.PublicKey
	muxer     string

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error

	readMu sync.Mutex // guards the read side below
	recv   *cipherState
	rbuf   *[]byte // pooled; nil when it holds nothing undelivered
	r, w   int     // undecrypted bytes are (*rbuf)[r:w]
	plain  []byte  // decrypted, undelivered plaintext, inside *rbuf
	rerr   error   // sticky read failure

	writeMu sync.Mutex // guards the write side below
	send    *cipherState
	one     [1][]byte // Write's argument as a batch of one, to avoid allocating
	werr    error     // sticky write failure
}

var _ net.Conn = (*Conn)(nil)

type connParams struct {
	local, remote peer.ID
	remoteKey     *peer.PublicKey
	muxer         string
	send, recv    *cipherState
}

func newConn(c net.Conn, p connParams) *Conn {
	return &Conn{
		conn: c, local: p.local, remote: p.remote, remoteKey: p.remoteKey, muxer: p.muxer,
		send: p.send, recv: p.recv,
	}
}

// LocalPeer returns our peer ID.
func (c *Conn) LocalPeer() peer.ID { return c.local }

// RemotePeer returns the authenticated peer ID of the other side.
func (c *Conn) RemotePeer() peer.ID { return c.remote }

// RemotePublicKey returns the other side's authenticated identity key.
func (c *Conn) RemotePublicKey() *peer.PublicKey { return c.remoteKey }

// Muxer returns the stream muxer agreed by inlined negotiation, or "" when
// there was none and the muxer must be negotiated with multistream-select.
func (c *Conn) Muxer() string { return c.muxer }

// NetConn returns the underlying conn. Reading or writing it directly
// corrupts the session.
func (c *Conn) NetConn() net.Conn { return c.conn }

// LocalAddr returns the underlying conn's local address.
func (c *Conn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// RemoteAddr returns the underlying conn's remote address.
func (c *Conn) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// SetDeadline sets the underlying conn's read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error { return c.conn.SetDeadline(t) }

// SetReadDeadline sets the underlying conn's read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }

// ReadInterruptible reports whether a Read that a read deadline in the
// past interrupts loses nothing, so that a Yamux session may let its
// streams' Reads read the conn themselves (yamux.InterruptibleReader):
// Read keeps a message cut short by a timeout and goes on with it, so it
// depends on the conn underneath, which qualifies over TCP, a Unix socket,
// or when it says so itself.
func (c *Conn) ReadInterruptible() bool {
	switch inner := c.conn.(type) {
	case *net.TCPConn, *net.UnixConn:
		return true
	case interface{ ReadInterruptible() bool }:
		return inner.ReadInterruptible()
	}
	return false
}

// SetWriteDeadline sets the underlying conn's write deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

// Close closes the underlying conn, which unblocks pending reads and
// writes. Later calls return the first call's result.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.closeErr = c.conn.Close()
	})
	return c.closeErr
}

var errClosed = fmt.Errorf("noise: %w", net.ErrClosed)

// isTimeout reports whether err is a deadline expiry, which leaves the
// stream intact.
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
