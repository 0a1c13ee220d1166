package noise

import (
	"encoding/binary"
)

// Write encrypts p and writes it, in messages of MaxPlaintextSize, up to
// eight per write to the underlying conn.
func (c *Conn) Write(p []byte) (int, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.one[0] = p
	n, err := c.writeLocked(c.one[:])
	c.one[0] = nil
	return int(n), err
}

// WriteBuffers writes the concatenation of bufs as if by one Write: the
// bytes are packed into as few messages as possible — every message but
// the last carries MaxPlaintextSize bytes whatever the boundaries of bufs —
// sealed into one pooled buffer and handed to the underlying conn in one
// Write per eight messages. bufs is not modified or retained.
//
// This is the fast path for callers that batch, such as a muxer's send
// loop holding a net.Buffers: net.Buffers.WriteTo would call Write once per
// buffer on a conn that is not a *net.TCPConn, sealing each into a message
// of its own.
func (c *Conn) WriteBuffers(bufs [][]byte) (int64, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	return c.writeLocked(bufs)
}

func (c *Conn) writeLocked(bufs [][]byte) (int64, error) {
	if c.closed.Load() {
		return 0, errClosed
	}
	if c.werr != nil {
		return 0, c.werr
	}
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	var written int64
	bi, off := 0, 0 // the next plaintext byte is bufs[bi][off]
	for total > 0 {
		msgs := min((total+MaxPlaintextSize-1)/MaxPlaintextSize, writeBatchMessages)
		pool := &writeBufSmall
		if msgs > 1 {
			pool = &writeBufLarge
		}
		out := pool.Get().(*[]byte)
		b := (*out)[:0]
		chunk := 0
		for range msgs {
			m := min(total-chunk, MaxPlaintextSize)
			start := len(b)
			b = b[:start+lengthPrefixSize+m]
			dst := b[start+lengthPrefixSize:]
			// A message whose plaintext lies in one buffer (most of them: a
			// muxer's batch is a few long slices) is sealed straight from
			// it, one pass over the bytes; one that spans buffers is first
			// gathered where its ciphertext goes and sealed in place.
			var pt []byte
			for len(bufs[bi]) == off { // skip empty buffers
				bi, off = bi+1, 0
			}
			if len(bufs[bi])-off >= m {
				pt, off = bufs[bi][off:off+m], off+m
			} else {
				for filled := 0; filled < m; {
					n := copy(dst[filled:], bufs[bi][off:])
					filled, off = filled+n, off+n
					if off == len(bufs[bi]) {
						bi, off = bi+1, 0
					}
				}
				pt = dst[:m]
			}
			nonce, err := c.send.next()
			if err != nil {
				pool.Put(out)
				c.werr = err
				return written, err
			}
			// The tag fits in the buffer's capacity; dst and pt are either
			// the same bytes or disjoint, as Seal requires.
			ct := c.send.aead.Seal(dst[:0], nonce, pt, nil)
			binary.BigEndian.PutUint16(b[start:], uint16(len(ct)))
			b = b[:start+lengthPrefixSize+len(ct)]
			chunk += m
		}
		n, err := c.conn.Write(b)
		*out = b[:0]
		pool.Put(out)
		if err != nil {
			if n == 0 && isTimeout(err) {
				// Nothing reached the peer: the batch's nonces are reused by
				// the next write, and the stream stays intact.
				c.send.n -= uint64(msgs)
				return written, err
			}
			c.werr = err
			return written, err
		}
		written += int64(chunk)
		total -= chunk
	}
	return written, nil
}
