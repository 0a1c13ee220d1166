package noise

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Read reads decrypted bytes. It returns io.EOF once the peer closed the
// conn at a message boundary, and a sticky error matching ErrDecrypt,
// ErrTruncated, ErrShortMessage or ErrNonceExhausted on a broken stream.
func (c *Conn) Read(p []byte) (int, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	for {
		if c.closed.Load() {
			return 0, errClosed
		}
		if len(c.plain) > 0 {
			n := copy(p, c.plain)
			c.plain = c.plain[n:]
			c.releaseReadBuf()
			return n, nil
		}
		if c.rerr != nil {
			return 0, c.rerr
		}
		if len(p) == 0 {
			return 0, nil
		}
		n, err := c.readMessage(p)
		if err != nil {
			if !isTimeout(err) {
				c.fail(err)
			}
			return 0, err
		}
		if n > 0 {
			return n, nil
		}
		// Either the plaintext waits in c.plain, or the message was empty
		// and the next one is read.
	}
}

// fail poisons the read side; what was buffered is dropped undelivered.
func (c *Conn) fail(err error) {
	c.rerr = err
	c.plain = nil
	c.r, c.w = 0, 0
	c.releaseReadBuf()
}

// releaseReadBuf returns the read buffer to the pool once it holds nothing
// undelivered.
func (c *Conn) releaseReadBuf() {
	if c.rbuf != nil && len(c.plain) == 0 && c.r == c.w {
		readBufPool.Put(c.rbuf)
		c.rbuf, c.r, c.w = nil, 0, 0
	}
}

// readMessage reads and decrypts one message. When the plaintext fits in p
// it is decrypted into p and its length returned; otherwise it is decrypted
// in place and left in c.plain, and 0 is returned.
func (c *Conn) readMessage(p []byte) (int, error) {
	if err := c.fill(lengthPrefixSize); err != nil {
		return 0, err
	}
	buf := *c.rbuf
	size := int(binary.BigEndian.Uint16(buf[c.r:]))
	if size < tagSize {
		return 0, fmt.Errorf("%w: length prefix %d (message %d)", ErrShortMessage, size, c.recv.n)
	}
	if err := c.fill(lengthPrefixSize + size); err != nil {
		return 0, err
	}
	buf = *c.rbuf // fill may have moved the unread bytes
	ct := buf[c.r+lengthPrefixSize : c.r+lengthPrefixSize+size]
	index := c.recv.n
	nonce, err := c.recv.next()
	if err != nil {
		return 0, err
	}
	c.r += lengthPrefixSize + size
	direct := len(p) >= size-tagSize
	dst := ct[:0]
	if direct {
		dst = p[:0]
	}
	pt, err := c.recv.aead.Open(dst, nonce, ct, nil)
	if err != nil {
		return 0, fmt.Errorf("%w: message %d: %w", ErrDecrypt, index, err)
	}
	if direct {
		c.releaseReadBuf()
		return len(pt), nil
	}
	c.plain = pt
	return 0, nil
}

// fill reads from the conn until (*c.rbuf)[c.r:c.w] holds at least need
// bytes (need ≤ frameSize), taking whatever more the conn has ready.
func (c *Conn) fill(need int) error {
	if c.rbuf == nil {
		c.rbuf = readBufPool.Get().(*[]byte)
		c.r, c.w = 0, 0
	}
	if c.w-c.r >= need {
		return nil
	}
	buf := *c.rbuf
	if len(buf)-c.r < frameSize { // make room for a whole message after r
		c.w = copy(buf, buf[c.r:c.w])
		c.r = 0
	}
	for {
		n, err := c.conn.Read(buf[c.w:])
		c.w += n
		if c.w-c.r >= need {
			return nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if c.w == c.r {
					return io.EOF
				}
				return fmt.Errorf("%w: stream ended %d bytes into a message of %d: %w",
					ErrTruncated, c.w-c.r, need, io.ErrUnexpectedEOF)
			}
			return err
		}
	}
}
