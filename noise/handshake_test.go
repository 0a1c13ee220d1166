package noise_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/yamuxgo/yamux/noise"
	"github.com/yamuxgo/yamux/peer"
)

func TestHandshakeBothRoles(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			ki, kr := identity(t, 1), identity(t, 2)
			a, b := tr.pair(t)
			i, r := handshake(t, a, b,
				noise.Config{Identity: ki, Muxers: []string{yamuxID}},
				noise.Config{Identity: kr, Muxers: []string{yamuxID}}, kr.ID())
			if i.err != nil || r.err != nil {
				t.Fatalf("initiator %v, responder %v", i.err, r.err)
			}
			for _, c := range []struct {
				name          string
				conn          *noise.Conn
				local, remote *peer.PrivateKey
			}{{"initiator", i.conn, ki, kr}, {"responder", r.conn, kr, ki}} {
				if c.conn.LocalPeer() != c.local.ID() || c.conn.RemotePeer() != c.remote.ID() {
					t.Errorf("%s: peers %s/%s, want %s/%s", c.name, c.conn.LocalPeer(), c.conn.RemotePeer(), c.local.ID(), c.remote.ID())
				}
				if !c.conn.RemotePublicKey().Equal(c.remote.Public()) {
					t.Errorf("%s: RemotePublicKey differs", c.name)
				}
				if c.conn.Muxer() != yamuxID {
					t.Errorf("%s: Muxer = %q, want %q", c.name, c.conn.Muxer(), yamuxID)
				}
				if c.conn.NetConn() == nil || c.conn.LocalAddr() == nil || c.conn.RemoteAddr() == nil {
					t.Errorf("%s: missing conn or addresses", c.name)
				}
			}
			// The secured conns carry data both ways.
			go i.conn.Write([]byte("ping"))
			buf := make([]byte, 4)
			if _, err := io.ReadFull(r.conn, buf); err != nil || string(buf) != "ping" {
				t.Fatalf("read %q, %v", buf, err)
			}
			go r.conn.Write([]byte("pong"))
			if _, err := io.ReadFull(i.conn, buf); err != nil || string(buf) != "pong" {
				t.Fatalf("read %q, %v", buf, err)
			}
		})
	}
}

// Two of our endpoints, each listing the same muxers, in both roles and
// with the same identity on both ends (a node dialing itself).
func TestHandshakeSameIdentity(t *testing.T) {
	k := identity(t, 5)
	a, b := pipePair(t)
	i, r := handshake(t, a, b, noise.Config{Identity: k}, noise.Config{Identity: k}, k.ID())
	if i.err != nil || r.err != nil {
		t.Fatalf("initiator %v, responder %v", i.err, r.err)
	}
	if i.conn.RemotePeer() != k.ID() || r.conn.RemotePeer() != k.ID() {
		t.Error("wrong remote peer")
	}
}

func TestMuxerNegotiation(t *testing.T) {
	many := func(n int, last string) []string {
		l := make([]string, 0, n)
		for i := range n - 1 {
			l = append(l, "/m/"+strconv.Itoa(i))
		}
		return append(l, last)
	}
	cases := []struct {
		name      string
		init, rsp []string
		want      string
	}{
		{"same single", []string{yamuxID}, []string{yamuxID}, yamuxID},
		{"initiator's order wins", []string{yamuxID, "/mplex/6.7.0"}, []string{"/mplex/6.7.0", yamuxID}, yamuxID},
		{"first common", []string{"/a", "/mplex/6.7.0", yamuxID}, []string{yamuxID, "/mplex/6.7.0"}, "/mplex/6.7.0"},
		{"no overlap", []string{"/a"}, []string{"/b"}, ""},
		{"initiator sends none", nil, []string{yamuxID}, ""},
		{"responder sends none", []string{yamuxID}, nil, ""},
		{"neither", nil, nil, ""},
		{"100 entries still count", many(100, yamuxID), []string{yamuxID}, yamuxID},
		{"initiator list over 100 ignored", many(101, yamuxID), []string{yamuxID}, ""},
		{"responder list over 100 ignored", []string{yamuxID}, many(101, yamuxID), ""},
		{"empty entry never matches", []string{""}, []string{""}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := pipePair(t)
			kr := identity(t, 2)
			i, r := handshake(t, a, b, noise.Config{Identity: identity(t, 1), Muxers: c.init},
				noise.Config{Identity: kr, Muxers: c.rsp}, kr.ID())
			if i.err != nil || r.err != nil {
				t.Fatalf("initiator %v, responder %v", i.err, r.err)
			}
			if i.conn.Muxer() != c.want || r.conn.Muxer() != c.want {
				t.Errorf("Muxer = %q (initiator), %q (responder); want %q", i.conn.Muxer(), r.conn.Muxer(), c.want)
			}
		})
	}
}

func TestWrongPeerID(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			a, b := tr.pair(t)
			want := identity(t, 3).ID()
			i, r := handshake(t, a, b, noise.Config{Identity: identity(t, 1)}, noise.Config{Identity: identity(t, 2)}, want)
			var me *noise.PeerIDMismatchError
			if !errors.As(i.err, &me) || !errors.Is(i.err, noise.ErrPeerIDMismatch) || !errors.Is(i.err, noise.ErrHandshake) {
				t.Fatalf("initiator: %v, want *PeerIDMismatchError", i.err)
			}
			if me.Expected != want || me.Actual != identity(t, 2).ID() {
				t.Errorf("mismatch error %v/%v", me.Expected, me.Actual)
			}
			// The initiator stopped before message 3: the responder never
			// authenticated anyone, and no application data flowed.
			if !errors.Is(r.err, noise.ErrHandshake) || r.conn != nil {
				t.Fatalf("responder: %v, %v; want a handshake error", r.conn, r.err)
			}
			if _, err := a.Write([]byte{1}); !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.ErrClosedPipe) {
				t.Errorf("initiator's conn not closed: Write = %v", err)
			}
		})
	}
}

func TestZeroRemoteAcceptsAny(t *testing.T) {
	a, b := pipePair(t)
	i, r := handshake(t, a, b, noise.Config{Identity: identity(t, 1)}, noise.Config{Identity: identity(t, 2)}, peer.ID{})
	if i.err != nil || r.err != nil {
		t.Fatalf("initiator %v, responder %v", i.err, r.err)
	}
	if i.conn.RemotePeer() != identity(t, 2).ID() {
		t.Errorf("RemotePeer %s", i.conn.RemotePeer())
	}
}

func TestNilIdentity(t *testing.T) {
	a, _ := pipePair(t)
	if _, err := noise.SecureOutbound(context.Background(), a, noise.Config{}, peer.ID{}); !errors.Is(err, noise.ErrHandshake) {
		t.Errorf("nil identity: %v", err)
	}
}

// rawResponder runs a hand-built responder for one test case: it reads
// message 1, writes message 2 with payload(p), and reports message 3.
func rawResponder(t *testing.T, conn net.Conn, payload func(*rawPeer) []byte) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	p := newRawPeer(t, conn, false)
	go func() {
		msg1, _, _, err := p.read()
		if err == nil && len(msg1) != 0 {
			err = errors.New("message 1 carries a payload")
		}
		if err == nil {
			_, _, err = p.write(payload(p))
		}
		if err == nil {
			_, _, _, err = p.read()
		}
		done <- err
	}()
	return done
}

func TestResponderPayloadRejects(t *testing.T) {
	kr, other := identity(t, 2), identity(t, 3)
	cases := []struct {
		name    string
		payload func(*rawPeer) []byte
		want    []error
	}{
		{"signature over another static key", func(p *rawPeer) []byte {
			sig, _ := kr.Sign(append([]byte(noise.SignaturePrefix), make([]byte, 32)...))
			return noise.AppendPayload(kr.Public().Marshal(), sig, nil)
		}, []error{noise.ErrInvalidSignature, peer.ErrInvalidSignature}},
		{"signature without the prefix", func(p *rawPeer) []byte {
			sig, _ := kr.Sign(p.static.Public)
			return noise.AppendPayload(kr.Public().Marshal(), sig, nil)
		}, []error{noise.ErrInvalidSignature}},
		{"signature by another identity", func(p *rawPeer) []byte {
			sig, _ := other.Sign(append([]byte(noise.SignaturePrefix), p.static.Public...))
			return noise.AppendPayload(kr.Public().Marshal(), sig, nil)
		}, []error{noise.ErrInvalidSignature}},
		{"no signature", func(p *rawPeer) []byte {
			return noise.AppendPayload(kr.Public().Marshal(), nil, nil)
		}, []error{noise.ErrInvalidPayload}},
		{"no key", func(p *rawPeer) []byte { return noise.AppendPayload(nil, []byte{1}, nil) }, []error{noise.ErrInvalidPayload}},
		{"garbage key", func(p *rawPeer) []byte {
			return noise.AppendPayload([]byte{0x08, 0x01, 0x12, 0x01, 0x00}, []byte{1}, nil)
		}, []error{noise.ErrInvalidPayload, peer.ErrMalformedKey}},
		{"garbage payload", func(p *rawPeer) []byte { return []byte{0xff, 0xff, 0xff} }, []error{noise.ErrInvalidPayload}},
		{"empty payload", func(p *rawPeer) []byte { return nil }, []error{noise.ErrInvalidPayload}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := tcpPair(t)
			done := rawResponder(t, b, c.payload)
			conn, err := noise.SecureOutbound(context.Background(), a, noise.Config{Identity: identity(t, 1)}, kr.ID())
			for _, want := range append(c.want, noise.ErrHandshake) {
				if !errors.Is(err, want) {
					t.Errorf("SecureOutbound = %v, %v; want %v", conn, err, want)
				}
			}
			if err := <-done; err == nil {
				t.Error("the raw responder got message 3 from a failed initiator")
			}
		})
	}
}

// A hand-built initiator sends a bad message 3; our responder refuses it.
func TestInitiatorPayloadRejects(t *testing.T) {
	ki := identity(t, 1)
	cases := []struct {
		name    string
		payload func(*rawPeer) []byte
		want    error
	}{
		{"bad signature", func(p *rawPeer) []byte {
			sig, _ := ki.Sign([]byte("something else"))
			return noise.AppendPayload(ki.Public().Marshal(), sig, nil)
		}, noise.ErrInvalidSignature},
		{"no key", func(p *rawPeer) []byte { return noise.AppendPayload(nil, nil, nil) }, noise.ErrInvalidPayload},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := tcpPair(t)
			p := newRawPeer(t, a, true)
			done := make(chan error, 1)
			go func() {
				var muxers []string
				_, _, err := p.write(nil)
				if err == nil {
					var payload []byte
					payload, _, _, err = p.read()
					if err == nil {
						muxers, err = noise.PayloadMuxers(payload)
					}
				}
				if err == nil && !slices.Equal(muxers, []string{yamuxID}) {
					err = errors.New("message 2 lacks the responder's muxer list")
				}
				if err == nil {
					_, _, err = p.write(c.payload(p))
				}
				done <- err
			}()
			conn, err := noise.SecureInbound(context.Background(), b, noise.Config{Identity: identity(t, 2), Muxers: []string{yamuxID}})
			if !errors.Is(err, c.want) || !errors.Is(err, noise.ErrHandshake) {
				t.Errorf("SecureInbound = %v, %v; want %v", conn, err, c.want)
			}
			if err := <-done; err != nil {
				t.Errorf("raw initiator: %v", err)
			}
		})
	}
}

// One Identity keeps one static key across handshakes (made and signed on
// its first), another Identity has its own, and the ephemeral key is fresh
// on every handshake. The raw responder sees both keys of each handshake.
func TestStaticKeyPerIdentity(t *testing.T) {
	type keys struct{ static, ephemeral string }
	run := func(id *peer.PrivateKey) keys {
		a, b := tcpPair(t)
		p := newRawPeer(t, b, false)
		kr := identity(t, 2)
		done := make(chan error, 1)
		go func() {
			_, err := noise.SecureOutbound(context.Background(), a, noise.Config{Identity: id}, kr.ID())
			done <- err
		}()
		if _, _, _, err := p.read(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := p.write(p.signedPayload(kr, nil)); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := p.read(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return keys{string(p.hs.PeerStatic()), string(p.hs.PeerEphemeral())}
	}
	id1, id3 := identity(t, 1), identity(t, 3)
	first, second, other := run(id1), run(id1), run(id3)
	if first.static != second.static {
		t.Error("one identity used two static keys")
	}
	if first.static == other.static {
		t.Error("two identities shared a static key")
	}
	if first.ephemeral == second.ephemeral {
		t.Error("two handshakes used the same ephemeral key")
	}
}

// A peer that stops answering is cut off by the handshake timeout, in
// either role, and cancelling the context ends a handshake at once.
func TestHandshakeStalled(t *testing.T) {
	for _, role := range []string{"initiator", "responder"} {
		t.Run(role, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := net.Pipe()
				defer b.Close()
				// b swallows what it is sent and never answers.
				go io.Copy(io.Discard, b)
				cfg := noise.Config{Identity: identity(t, 1), HandshakeTimeout: 3 * time.Second}
				start := time.Now()
				var err error
				if role == "initiator" {
					_, err = noise.SecureOutbound(context.Background(), a, cfg, identity(t, 2).ID())
				} else {
					_, err = noise.SecureInbound(context.Background(), a, cfg)
				}
				if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.Is(err, noise.ErrHandshake) {
					t.Fatalf("stalled handshake: %v, want a deadline error", err)
				}
				if got := time.Since(start); got != 3*time.Second {
					t.Errorf("gave up after %v, want 3s", got)
				}
			})
		})
	}
	t.Run("context deadline first", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			a, b := net.Pipe()
			defer b.Close()
			go io.Copy(io.Discard, b)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			start := time.Now()
			_, err := noise.SecureInbound(ctx, a, noise.Config{Identity: identity(t, 1)})
			if !errors.Is(err, noise.ErrHandshake) || !(errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded)) {
				t.Fatalf("err %v", err)
			}
			if got := time.Since(start); got != time.Second {
				t.Errorf("gave up after %v, want 1s", got)
			}
		})
	})
	t.Run("cancel", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			a, b := net.Pipe()
			defer b.Close()
			go io.Copy(io.Discard, b)
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(2*time.Second, cancel)
			start := time.Now()
			_, err := noise.SecureOutbound(ctx, a, noise.Config{Identity: identity(t, 1)}, peer.ID{})
			if !errors.Is(err, context.Canceled) || !errors.Is(err, noise.ErrHandshake) {
				t.Fatalf("err %v, want context.Canceled", err)
			}
			if got := time.Since(start); got != 2*time.Second {
				t.Errorf("gave up after %v, want 2s", got)
			}
		})
	})
}

// Garbage instead of a handshake fails fast with a typed error.
func TestHandshakeGarbage(t *testing.T) {
	random := pattern(200, 9)
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"HTTP request", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), noise.ErrMessageTooLarge},
		{"max length prefix", []byte{0xff, 0xff, 1, 2, 3}, noise.ErrMessageTooLarge},
		{"multistream header", []byte("\x13/multistream/1.0.0\n"), noise.ErrTruncated}, // 0x132f-byte message
		{"short message 1", []byte{0, 5, 1, 2, 3, 4, 5}, noise.ErrShortMessage},
		{"empty message 1", []byte{0, 0}, noise.ErrShortMessage},
		{"cut in the prefix", []byte{0}, noise.ErrTruncated},
		{"cut in the body", []byte{0, 32, 1, 2}, noise.ErrTruncated},
		{"random message 1 then random message 3", append(append([]byte{0, 32}, random[:32]...), append([]byte{0, 150}, random[32:182]...)...), noise.ErrDecrypt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := tcpPair(t)
			go func() {
				a.Write(c.in)
				a.(*net.TCPConn).CloseWrite()
				io.Copy(io.Discard, a)
			}()
			_, err := noise.SecureInbound(context.Background(), b, noise.Config{Identity: identity(t, 2), HandshakeTimeout: time.Minute})
			if !errors.Is(err, c.want) || !errors.Is(err, noise.ErrHandshake) {
				t.Errorf("SecureInbound = %v, want %v", err, c.want)
			}
		})
	}
	t.Run("initiator gets garbage message 2", func(t *testing.T) {
		a, b := tcpPair(t)
		go func() {
			readFrame(b)
			writeFrame(b, random)
			io.Copy(io.Discard, b)
		}()
		_, err := noise.SecureOutbound(context.Background(), a, noise.Config{Identity: identity(t, 1)}, peer.ID{})
		if !errors.Is(err, noise.ErrDecrypt) || !errors.Is(err, noise.ErrHandshake) {
			t.Errorf("SecureOutbound = %v, want ErrDecrypt", err)
		}
	})
}
