package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
)

// xorConn is a stand-in security layer: a 1-byte key exchange, then every
// byte XORed with the key. It checks that a Secure layer slots under both a
// multiplexer and raw connections, with the handshake run on both ends at
// once, as a Noise layer will.
type xorConn struct {
	net.Conn
	key byte
}

func (c *xorConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	for i := range b[:n] {
		b[i] ^= c.key
	}
	return n, err
}

func (c *xorConn) Write(b []byte) (int, error) {
	p := make([]byte, len(b))
	for i := range b {
		p[i] = b[i] ^ c.key
	}
	return c.Conn.Write(p)
}

var errBadKey = errors.New("xor: peer sent a different key")

func xorSecure(conn net.Conn, client bool) (net.Conn, error) {
	const key = 0x5a
	var b [1]byte
	// Both sides write first: a deadlock here would mean the layer's
	// handshakes do not run concurrently.
	if _, err := conn.Write([]byte{key}); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(conn, b[:]); err != nil {
		return nil, err
	}
	if b[0] != key {
		return nil, fmt.Errorf("%w: %#x", errBadKey, b[0])
	}
	return &xorConn{Conn: conn, key: key}, nil
}

func TestSecureLayer(t *testing.T) {
	p, _, _ := modeParams("smoke")
	p.RawStreamLimit = 1000
	contenders := []Contender{
		{Name: "xor-raw", Secure: xorSecure},
		{Name: "xor-ours", Secure: xorSecure, Mux: oursMuxer(raisedLimits)},
	}
	for _, c := range contenders {
		for _, s := range []Scenario{bulkScenario(TCP), bulkScenario(Unix), pingpongScenario(), churnScenario(4)} {
			vals, err := runScenario(s, c, p)
			if err != nil {
				t.Errorf("%s / %s: %v", s.Name, c.Name, err)
				continue
			}
			if len(vals) == 0 {
				t.Errorf("%s / %s: no figures", s.Name, c.Name)
			}
		}
	}
}

// TestLayerCarriesBytes checks the secured link end to end: what one side
// writes is what the other reads, so the layer really is in the path.
func TestLayerCarriesBytes(t *testing.T) {
	for _, c := range []Contender{{Name: "xor-raw", Secure: xorSecure}, {Name: "xor-ours", Secure: xorSecure, Mux: oursMuxer(raisedLimits)}} {
		l, err := c.Connect(TCP)
		if err != nil {
			t.Fatal(err)
		}
		cs, ss, err := openPair(l)
		if err != nil {
			t.Fatal(err)
		}
		msg := []byte("through the layer")
		// Small enough for the socket or session buffers: no goroutine needed.
		if _, err := cs.Write(msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(ss, got); err != nil {
			t.Fatal(err)
		}
		if string(got) != string(msg) {
			t.Errorf("%s: read %q, want %q", c.Name, got, msg)
		}
		l.Close()
	}
}

// Closing a secured raw stream with CloseStream forgets it: a churn run
// over a security layer must not pile up closed connections in the link.
func TestSecuredRawCloseStreamForgets(t *testing.T) {
	l, err := newRawLink(TCP, xorSecure)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for range 20 {
		cs, ss, err := openPair(l)
		if err != nil {
			t.Fatal(err)
		}
		l.CloseStream(cs)
		l.CloseStream(ss)
	}
	l.mu.Lock()
	n := len(l.conns)
	l.mu.Unlock()
	if n != 0 {
		t.Errorf("%d connections still tracked after closing all of them", n)
	}
}
