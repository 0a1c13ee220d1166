package noise_test

import (
	"crypto/rand"
	"encoding/binary"
	"io"
	"net"
	"testing"

	fnoise "github.com/flynn/noise"

	"github.com/yamuxgo/yamux/noise"
	"github.com/yamuxgo/yamux/peer"
)

// rawPeer is a hand-driven Noise endpoint built on flynn/noise directly, for
// sending what our own implementation never would.
type rawPeer struct {
	tb     testing.TB
	conn   net.Conn
	hs     *fnoise.HandshakeState
	static fnoise.DHKey
}

var rawSuite = fnoise.NewCipherSuite(fnoise.DH25519, fnoise.CipherChaChaPoly, fnoise.HashSHA256)

func newRawPeer(tb testing.TB, conn net.Conn, initiator bool) *rawPeer {
	tb.Helper()
	static, err := rawSuite.GenerateKeypair(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	hs, err := fnoise.NewHandshakeState(fnoise.Config{
		CipherSuite: rawSuite, Pattern: fnoise.HandshakeXX, Initiator: initiator, StaticKeypair: static,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return &rawPeer{tb: tb, conn: conn, hs: hs, static: static}
}

// signedPayload is a valid payload for identity k over this peer's static
// key; tamper lets a test break it.
func (p *rawPeer) signedPayload(k *peer.PrivateKey, muxers []string) []byte {
	sig, _ := k.Sign(append([]byte(noise.SignaturePrefix), p.static.Public...))
	return noise.AppendPayload(k.Public().Marshal(), sig, muxers)
}

func (p *rawPeer) write(payload []byte) (cs1, cs2 *fnoise.CipherState, err error) {
	msg, cs1, cs2, err := p.hs.WriteMessage(nil, payload)
	if err != nil {
		p.tb.Fatal(err)
	}
	return cs1, cs2, writeFrame(p.conn, msg)
}

func (p *rawPeer) read() (payload []byte, cs1, cs2 *fnoise.CipherState, err error) {
	msg, err := readFrame(p.conn)
	if err != nil {
		return nil, nil, nil, err
	}
	return p.hs.ReadMessage(nil, msg)
}

func writeFrame(w io.Writer, msg []byte) error {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(msg)))
	_, err := w.Write(append(b, msg...))
	return err
}

func readFrame(r io.Reader) ([]byte, error) {
	var pre [2]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, err
	}
	msg := make([]byte, binary.BigEndian.Uint16(pre[:]))
	_, err := io.ReadFull(r, msg)
	return msg, err
}
