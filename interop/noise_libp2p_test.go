package interop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand"
	"net"
	"sync"
	"testing"

	lcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	lpeer "github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/sec"
	lyamux "github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	tptu "github.com/libp2p/go-libp2p/p2p/net/upgrader"
	lnoise "github.com/libp2p/go-libp2p/p2p/security/noise"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/noise"
	"github.com/yamuxgo/yamux/peer"
)

// Wire compatibility of our noise package with go-libp2p v0.52.0's
// p2p/security/noise, both roles, every libp2p key type on the go side.

const libp2pYamux = "/yamux/1.0.0"

// noisePair is a loopback TCP pair closed at cleanup.
func noisePair(t *testing.T) (dialed, accepted net.Conn) {
	t.Helper()
	d, a, err := tcpPair(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(); a.Close() })
	return d, a
}

// goNoise is a go-libp2p Noise transport with a key of type kt (from a
// fixed seed), listing yamux for inlined negotiation when muxers is set.
func goNoise(t *testing.T, kt int, muxers bool) (*lnoise.Transport, peer.ID) {
	t.Helper()
	priv, _, err := lcrypto.GenerateKeyPairWithReader(kt, 2048, rand.New(rand.NewSource(int64(kt)+1)))
	if err != nil {
		t.Fatal(err)
	}
	var ms []tptu.StreamMuxer
	if muxers {
		ms = []tptu.StreamMuxer{{ID: libp2pYamux, Muxer: lyamux.DefaultTransport}}
	}
	tr, err := lnoise.New(lnoise.ID, priv, ms)
	if err != nil {
		t.Fatal(err)
	}
	lid, err := lpeer.IDFromPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	// Their printed ID parses to ours: the two ID codecs agree.
	id, err := peer.Decode(lid.String())
	if err != nil {
		t.Fatal(err)
	}
	return tr, id
}

func ourIdentity(t *testing.T) (*peer.PrivateKey, lpeer.ID) {
	t.Helper()
	k, err := peer.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	lid, err := lpeer.IDFromBytes(k.ID().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return k, lid
}

// exchangeBothWays sends 1 MiB each way at once and compares checksums.
func exchangeBothWays(t *testing.T, a, b net.Conn) {
	t.Helper()
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	want := sha256.Sum256(data)
	var wg sync.WaitGroup
	for _, dir := range [][2]net.Conn{{a, b}, {b, a}} {
		wg.Go(func() {
			if _, err := dir[0].Write(data); err != nil {
				t.Errorf("write: %v", err)
			}
		})
		wg.Go(func() {
			got := make([]byte, len(data))
			if _, err := io.ReadFull(dir[1], got); err != nil {
				t.Errorf("read: %v", err)
				return
			}
			if sha256.Sum256(got) != want {
				t.Error("checksum differs")
			}
		})
	}
	wg.Wait()
}

var libp2pKeyTypes = []struct {
	name string
	kt   int
}{{"ed25519", lcrypto.Ed25519}, {"secp256k1", lcrypto.Secp256k1}, {"ecdsa", lcrypto.ECDSA}, {"rsa", lcrypto.RSA}}

func TestNoiseWithGoLibp2p(t *testing.T) {
	for _, kt := range libp2pKeyTypes {
		for _, weDial := range []bool{true, false} {
			name := kt.name + "/go-dials-us"
			if weDial {
				name = kt.name + "/we-dial-go"
			}
			t.Run(name, func(t *testing.T) {
				tr, theirID := goNoise(t, kt.kt, true)
				ours, ourLibp2pID := ourIdentity(t)
				a, b := noisePair(t)
				cfg := noise.Config{Identity: ours, Muxers: []string{libp2pYamux}}
				var (
					oc   *noise.Conn
					gc   sec.SecureConn
					oerr error
					gerr error
					wg   sync.WaitGroup
				)
				if weDial {
					wg.Go(func() { gc, gerr = tr.SecureInbound(context.Background(), b, "") })
					oc, oerr = noise.SecureOutbound(context.Background(), a, cfg, theirID)
				} else {
					wg.Go(func() { gc, gerr = tr.SecureOutbound(context.Background(), a, ourLibp2pID) })
					oc, oerr = noise.SecureInbound(context.Background(), b, cfg)
				}
				wg.Wait()
				if oerr != nil || gerr != nil {
					t.Fatalf("handshake: ours %v, go-libp2p %v", oerr, gerr)
				}
				defer oc.Close()
				defer gc.Close()
				if oc.RemotePeer() != theirID || gc.RemotePeer() != ourLibp2pID {
					t.Errorf("peers: we see %s (want %s), go sees %s (want %s)", oc.RemotePeer(), theirID, gc.RemotePeer(), ourLibp2pID)
				}
				if oc.Muxer() != libp2pYamux || string(gc.ConnState().StreamMultiplexer) != libp2pYamux {
					t.Errorf("inlined muxer: ours %q, go-libp2p %q", oc.Muxer(), gc.ConnState().StreamMultiplexer)
				}
				exchangeBothWays(t, oc, gc)
			})
		}
	}
}

// A go-libp2p peer that sends no muxer list: both sides fall back.
func TestNoiseWithGoLibp2pNoMuxers(t *testing.T) {
	tr, theirID := goNoise(t, lcrypto.Ed25519, false)
	ours, _ := ourIdentity(t)
	a, b := noisePair(t)
	var gc sec.SecureConn
	var gerr error
	var wg sync.WaitGroup
	wg.Go(func() { gc, gerr = tr.SecureInbound(context.Background(), b, "") })
	oc, err := noise.SecureOutbound(context.Background(), a, noise.Config{Identity: ours, Muxers: []string{libp2pYamux}}, theirID)
	wg.Wait()
	if err != nil || gerr != nil {
		t.Fatalf("handshake: ours %v, go-libp2p %v", err, gerr)
	}
	defer oc.Close()
	defer gc.Close()
	if oc.Muxer() != "" || gc.ConnState().StreamMultiplexer != "" {
		t.Errorf("muxer: ours %q, go-libp2p %q; want none (multistream-select fallback)", oc.Muxer(), gc.ConnState().StreamMultiplexer)
	}
}

// Each side refuses a peer other than the one it dialed.
func TestNoiseWithGoLibp2pWrongPeer(t *testing.T) {
	tr, _ := goNoise(t, lcrypto.Ed25519, true)
	other, otherLibp2p := ourIdentity(t)
	ours, _ := ourIdentity(t)

	a, b := noisePair(t)
	var wg sync.WaitGroup
	wg.Go(func() {
		if c, err := tr.SecureInbound(context.Background(), b, ""); err == nil {
			c.Close()
		}
	})
	_, err := noise.SecureOutbound(context.Background(), a, noise.Config{Identity: ours}, other.ID())
	wg.Wait()
	if !errors.Is(err, noise.ErrPeerIDMismatch) {
		t.Errorf("we dial go-libp2p expecting another ID: %v, want ErrPeerIDMismatch", err)
	}

	a2, b2 := noisePair(t)
	wg.Go(func() {
		if c, err := noise.SecureInbound(context.Background(), b2, noise.Config{Identity: ours}); err == nil {
			c.Close()
		}
	})
	c, gerr := tr.SecureOutbound(context.Background(), a2, otherLibp2p)
	wg.Wait()
	if gerr == nil {
		c.Close()
		t.Error("go-libp2p dialed us expecting another ID and succeeded")
	}
}

// Our Yamux over our Noise against go-libp2p's Yamux over its Noise: eight
// streams of 1 MiB echoed, compared byte for byte.
func TestYamuxOverNoiseWithGoLibp2p(t *testing.T) {
	tr, theirID := goNoise(t, lcrypto.Ed25519, true)
	ours, _ := ourIdentity(t)
	a, b := noisePair(t)
	var gc sec.SecureConn
	var gerr error
	var wg sync.WaitGroup
	wg.Go(func() { gc, gerr = tr.SecureInbound(context.Background(), b, "") })
	oc, err := noise.SecureOutbound(context.Background(), a, noise.Config{Identity: ours, Muxers: []string{libp2pYamux}}, theirID)
	wg.Wait()
	if err != nil || gerr != nil {
		t.Fatalf("handshake: ours %v, go-libp2p %v", err, gerr)
	}
	gm, err := lyamux.DefaultTransport.NewConn(gc, true, &network.NullScope{})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := yamux.Client(oc, nil)
	if err != nil {
		t.Fatal(err)
	}
	var echo sync.WaitGroup
	echo.Go(func() {
		for {
			s, err := gm.AcceptStream()
			if err != nil {
				return
			}
			echo.Go(func() {
				io.Copy(s, s)
				s.Close()
			})
		}
	})
	var streams sync.WaitGroup
	for i := range 8 {
		streams.Go(func() {
			st, err := sess.OpenStream()
			if err != nil {
				t.Error(err)
				return
			}
			defer st.Close()
			data := bytes.Repeat([]byte{byte(i)}, 1<<20)
			streams.Go(func() {
				st.Write(data)
				st.CloseWrite()
			})
			got, err := io.ReadAll(st)
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("stream %d: %d bytes back, %v", i, len(got), err)
			}
		})
	}
	streams.Wait()
	sess.Close()
	gm.Close()
	echo.Wait()
}
