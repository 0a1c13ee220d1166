package peer_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"testing"
	"testing/iotest"

	"github.com/yamuxgo/yamux/peer"
)

func sha256sum(b []byte) []byte { h := sha256.Sum256(b); return h[:] }

// mustKey returns the Ed25519 key with a seed of 32 bytes b.
func mustKey(tb testing.TB, b byte) *peer.PrivateKey {
	tb.Helper()
	k, err := peer.NewEd25519KeyFromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func TestPrivateKeyVector(t *testing.T) {
	v := loadVectors(t)["ed25519"]
	k := mustKey(t, 0x01)
	if got := k.ID().String(); got != v.id {
		t.Errorf("ID from seed = %s, want %s", got, v.id)
	}
	if got := k.Marshal(); !bytes.Equal(got, v.priv) {
		t.Errorf("Marshal = %x, want %x", got, v.priv)
	}
	if got := k.Public().Marshal(); !bytes.Equal(got, v.pub) {
		t.Errorf("public Marshal = %x, want %x", got, v.pub)
	}
	sig, err := k.Sign(v.msg)
	if err != nil || !bytes.Equal(sig, v.sig) {
		t.Errorf("Sign = %x, %v; want %x", sig, err, v.sig)
	}
	k2, err := peer.UnmarshalPrivateKey(v.priv)
	if err != nil || !k2.Equal(k) {
		t.Fatalf("UnmarshalPrivateKey = %v, %v", k2, err)
	}
	if k.Type() != peer.KeyTypeEd25519 {
		t.Errorf("Type = %v", k.Type())
	}
}

func TestPrivateKeyRoundTrip(t *testing.T) {
	k, err := peer.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := peer.UnmarshalPrivateKey(k.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if !k2.Equal(k) || k2.ID() != k.ID() || !k2.Public().Equal(k.Public()) {
		t.Error("round trip changed the key")
	}
	if k.Equal(mustKey(t, 2)) || k.Equal(nil) {
		t.Error("Equal is wrong")
	}
	msg := []byte("hello")
	sig, _ := k.Sign(msg)
	if err := k2.Public().Verify(msg, sig); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func TestGenerateEd25519KeyReaderError(t *testing.T) {
	if _, err := peer.GenerateEd25519Key(iotest.ErrReader(errors.New("boom"))); err == nil {
		t.Error("GenerateEd25519Key with a failing reader succeeded")
	}
	if _, err := peer.NewEd25519KeyFromSeed(make([]byte, 31)); !errors.Is(err, peer.ErrMalformedKey) {
		t.Errorf("31-byte seed: %v", err)
	}
}

// The 96-byte legacy form (public key repeated) still loads.
func TestUnmarshalPrivateKeyLegacy(t *testing.T) {
	v := loadVectors(t)["ed25519"]
	data := v.priv[4:] // 64 bytes
	legacy := keyMsg(peer.KeyTypeEd25519, append(bytes.Clone(data), data[32:]...))
	k, err := peer.UnmarshalPrivateKey(legacy)
	if err != nil || k.ID().String() != v.id {
		t.Fatalf("legacy key: %v, %v", k, err)
	}
}

func TestUnmarshalPrivateKeyRejects(t *testing.T) {
	vs := loadVectors(t)
	data := vs["ed25519"].priv[4:]
	badRepeat := append(bytes.Clone(data), data[32:]...)
	badRepeat[95] ^= 1
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"rsa", vs["rsa"].priv, peer.ErrUnsupportedKeyType},
		{"secp256k1", vs["secp256k1"].priv, peer.ErrUnsupportedKeyType},
		{"ecdsa", vs["ecdsa"].priv, peer.ErrUnsupportedKeyType},
		{"garbage", []byte("garbage"), peer.ErrMalformedKey},
		{"seed only", keyMsg(peer.KeyTypeEd25519, data[:32]), peer.ErrMalformedKey},
		{"public half wrong", keyMsg(peer.KeyTypeEd25519, flip(data, 40)), peer.ErrMalformedKey},
		{"legacy repeat wrong", keyMsg(peer.KeyTypeEd25519, badRepeat), peer.ErrMalformedKey},
		{"huge", make([]byte, 5000), peer.ErrKeyTooLarge},
	}
	for _, c := range cases {
		if k, err := peer.UnmarshalPrivateKey(c.in); !errors.Is(err, c.want) {
			t.Errorf("%s: UnmarshalPrivateKey = %v, %v; want %v", c.name, k, err, c.want)
		}
	}
}
