package noise

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/yamuxgo/yamux/peer"
)

// scriptConn is a net.Conn that reads a fixed byte string and swallows
// writes: a peer that says exactly the fuzzer's bytes, whatever we send.
// It has no goroutines, so fuzz runs stay deterministic.
type scriptConn struct {
	r      *bytes.Reader
	closed bool
}

func (c *scriptConn) Read(p []byte) (int, error) {
	if c.closed {
		return 0, net.ErrClosed
	}
	return c.r.Read(p)
}
func (c *scriptConn) Write(p []byte) (int, error) {
	if c.closed {
		return 0, net.ErrClosed
	}
	return len(p), nil
}
func (c *scriptConn) Close() error                     { c.closed = true; return nil }
func (c *scriptConn) LocalAddr() net.Addr              { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (c *scriptConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzHandshake: whatever a peer sends during the handshake, in either
// role, the handshake ends with an error matching ErrHandshake (the bytes
// cannot authenticate) and the conn closed, never a panic or a hang.
func FuzzHandshake(f *testing.F) {
	f.Add(false, append([]byte{0, 32}, make([]byte, 32)...))
	f.Add(true, append([]byte{0, 200}, make([]byte, 200)...))
	f.Add(false, []byte{0xff, 0xff})
	f.Add(false, append(append([]byte{0, 32}, make([]byte, 32)...), 0, 100))
	id, _ := peer.NewEd25519KeyFromSeed(bytes.Repeat([]byte{1}, 32))
	f.Fuzz(func(t *testing.T, initiator bool, script []byte) {
		c := &scriptConn{r: bytes.NewReader(script)}
		cfg := Config{Identity: id, Muxers: []string{"/yamux/1.0.0"}}
		var (
			sc  *Conn
			err error
		)
		if initiator {
			sc, err = SecureOutbound(context.Background(), c, cfg, peer.ID{})
		} else {
			sc, err = SecureInbound(context.Background(), c, cfg)
		}
		if err == nil || sc != nil {
			t.Fatalf("handshake with a scripted peer succeeded: %v", err)
		}
		if !errors.Is(err, ErrHandshake) || !c.closed {
			t.Fatalf("error %v (conn closed: %v)", err, c.closed)
		}
	})
}

// recordKey is the fixed key of FuzzRecordReader's messages.
var recordKey = bytes.Repeat([]byte{7}, chacha20poly1305.KeySize)

func recordCipher(tb testing.TB) *cipherState {
	a, err := chacha20poly1305.New(recordKey)
	if err != nil {
		tb.Fatal(err)
	}
	return &cipherState{aead: a}
}

// sealRecords encodes plaintexts as transport messages under recordKey.
func sealRecords(tb testing.TB, plaintexts ...[]byte) []byte {
	cs := recordCipher(tb)
	var out []byte
	for _, p := range plaintexts {
		nonce, _ := cs.next()
		ct := cs.aead.Seal(nil, nonce, p, nil)
		out = append(out, byte(len(ct)>>8), byte(len(ct)))
		out = append(out, ct...)
	}
	return out
}

// FuzzRecordReader: the record layer's reader over arbitrary bytes. It
// delivers only what authenticates, in order, stops at the first bad
// record with a typed error that every later Read repeats, and ends a clean
// stream with io.EOF.
func FuzzRecordReader(f *testing.F) {
	f.Add(sealRecords(f, []byte("hello"), nil, []byte("world")), uint16(3))
	f.Add(sealRecords(f, bytes.Repeat([]byte{1}, MaxPlaintextSize), []byte("x")), uint16(1000))
	f.Add([]byte{0, 0}, uint16(10))
	f.Add([]byte{0, 20, 1, 2}, uint16(10))
	f.Fuzz(func(t *testing.T, stream []byte, readSize uint16) {
		c := newConn(&scriptConn{r: bytes.NewReader(stream)}, connParams{send: recordCipher(t), recv: recordCipher(t)})
		// The expected plaintext: decrypt record by record on the side.
		var want []byte
		check := recordCipher(t)
		for rest := stream; len(rest) >= 2; {
			n := int(rest[0])<<8 | int(rest[1])
			if n < tagSize || len(rest) < 2+n {
				break
			}
			nonce, _ := check.next()
			pt, err := check.aead.Open(nil, nonce, rest[2:2+n], nil)
			if err != nil {
				break
			}
			want = append(want, pt...)
			rest = rest[2+n:]
		}
		var got []byte
		buf := make([]byte, int(readSize)+1)
		var err error
		for {
			var n int
			n, err = c.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
			if n == 0 {
				t.Fatal("Read returned 0, nil")
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("delivered %d bytes, want the %d that authenticate", len(got), len(want))
		}
		if err != io.EOF && !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrShortMessage) {
			t.Fatalf("unexpected error %v", err)
		}
		if n, err2 := c.Read(buf); n != 0 || err2 != err {
			t.Fatalf("Read after the end = %d, %v; want 0, %v", n, err2, err)
		}
	})
}
