package noise

import (
	"bytes"
	"testing"

	"github.com/yamuxgo/yamux/peer"
)

// FuzzDecodePayload: the payload decoder and the identity-key decoder
// behind it never panic, and an accepted payload re-encodes to one that
// decodes the same.
func FuzzDecodePayload(f *testing.F) {
	k, _ := peer.NewEd25519KeyFromSeed(bytes.Repeat([]byte{1}, 32))
	sig, _ := k.Sign([]byte(signaturePrefix + "0123456789abcdef0123456789abcdef"))
	f.Add(appendPayload(nil, &handshakePayload{identityKey: k.Public().Marshal(), identitySig: sig}))
	f.Add(appendPayload(nil, &handshakePayload{identityKey: k.Public().Marshal(), identitySig: sig,
		streamMuxers: []string{"/yamux/1.0.0", "/mplex/6.7.0"}, certHashes: [][]byte{{0x12, 0x20, 1}}}))
	f.Add([]byte{0x22, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePayload(b)
		if err != nil {
			return
		}
		if key, err := peer.UnmarshalPublicKey(p.identityKey); err == nil {
			_ = key.Verify([]byte(signaturePrefix), p.identitySig)
			if !peer.IDFromPublicKey(key).MatchesPublicKey(key) {
				t.Fatal("ID does not match its key")
			}
		}
		_ = selectMuxer(p.streamMuxers, p.streamMuxers)
		q, err := decodePayload(appendPayload(nil, &p))
		if err != nil {
			t.Fatalf("re-encoded payload does not decode: %v", err)
		}
		if !bytes.Equal(q.identityKey, p.identityKey) || !bytes.Equal(q.identitySig, p.identitySig) ||
			len(q.streamMuxers) != len(p.streamMuxers) || len(q.certHashes) != len(p.certHashes) {
			t.Fatal("re-encoding changed the payload")
		}
		for i := range p.streamMuxers {
			if q.streamMuxers[i] != p.streamMuxers[i] {
				t.Fatal("re-encoding changed a muxer")
			}
		}
	})
}

// FuzzPublicKey: identity keys as they arrive in a payload (the decoder
// the handshake calls on peer input).
func FuzzPublicKey(f *testing.F) {
	k, _ := peer.NewEd25519KeyFromSeed(bytes.Repeat([]byte{1}, 32))
	f.Add(k.Public().Marshal())
	f.Add([]byte{0x08, 0x02, 0x12, 0x21, 0x03})
	f.Fuzz(func(t *testing.T, b []byte) {
		key, err := peer.UnmarshalPublicKey(b)
		if err != nil {
			return
		}
		if len(key.Marshal()) > peer.MaxPublicKeySize {
			t.Fatal("decoded key exceeds the size limit")
		}
		_ = key.Verify(signedMessage(make([]byte, 32)), b)
	})
}
