package peer_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"math/big"
	"testing"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/yamuxgo/yamux/peer"
)

// keyMsg builds a PublicKey protobuf by hand, in any shape.
func keyMsg(t peer.KeyType, data []byte) []byte {
	b := protowire.AppendTag(nil, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(t))
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	return protowire.AppendBytes(b, data)
}

func TestPublicKeyVectors(t *testing.T) {
	wantType := map[string]peer.KeyType{
		"ed25519": peer.KeyTypeEd25519, "rsa": peer.KeyTypeRSA,
		"secp256k1": peer.KeyTypeSecp256k1, "ecdsa": peer.KeyTypeECDSA,
	}
	for name, v := range loadVectors(t) {
		t.Run(name, func(t *testing.T) {
			k, err := peer.UnmarshalPublicKey(v.pub)
			if err != nil {
				t.Fatalf("UnmarshalPublicKey: %v", err)
			}
			if k.Type() != wantType[name] {
				t.Errorf("Type = %v, want %v", k.Type(), wantType[name])
			}
			if got := k.Marshal(); !bytes.Equal(got, v.pub) {
				t.Errorf("Marshal = %x, want %x", got, v.pub)
			}
			if got := k.AppendMarshal([]byte{9}); !bytes.Equal(got[1:], v.pub) || got[0] != 9 {
				t.Errorf("AppendMarshal = %x", got)
			}
			if err := k.Verify(v.msg, v.sig); err != nil {
				t.Errorf("Verify(go-libp2p signature) = %v, want nil", err)
			}
			if err := k.Verify(flip(v.msg, 3), v.sig); !errors.Is(err, peer.ErrInvalidSignature) {
				t.Errorf("Verify(other message) = %v, want ErrInvalidSignature", err)
			}
			if err := k.Verify(v.msg, flip(v.sig, len(v.sig)-1)); !errors.Is(err, peer.ErrInvalidSignature) {
				t.Errorf("Verify(flipped signature) = %v, want ErrInvalidSignature", err)
			}
			if err := k.Verify(v.msg, nil); !errors.Is(err, peer.ErrInvalidSignature) {
				t.Errorf("Verify(no signature) = %v, want ErrInvalidSignature", err)
			}
			if err := k.Verify(v.msg, make([]byte, 5000)); !errors.Is(err, peer.ErrInvalidSignature) {
				t.Errorf("Verify(huge signature) = %v, want ErrInvalidSignature", err)
			}
			if got := k.ID().String(); got != v.id {
				t.Errorf("ID = %s, want %s", got, v.id)
			}
			k2, err := peer.NewPublicKey(k.CryptoPublicKey())
			if err != nil || !k2.Equal(k) {
				t.Errorf("NewPublicKey(CryptoPublicKey()) = %v, %v; want an equal key", k2, err)
			}
			if !bytes.Equal(k.Raw(), k2.Raw()) {
				t.Errorf("Raw differs after NewPublicKey")
			}
		})
	}
}

// A secp256k1 key sent uncompressed gets the same canonical (compressed)
// encoding and ID as go-libp2p gives it.
func TestSecp256k1UncompressedCanonical(t *testing.T) {
	v := loadVectors(t)["secp256k1"]
	k, err := peer.UnmarshalPublicKey(v.pub)
	if err != nil {
		t.Fatal(err)
	}
	unc := k.CryptoPublicKey().(*secp256k1.PublicKey).SerializeUncompressed()
	k2, err := peer.UnmarshalPublicKey(keyMsg(peer.KeyTypeSecp256k1, unc))
	if err != nil {
		t.Fatal(err)
	}
	if !k2.Equal(k) || k2.ID().String() != v.id {
		t.Errorf("uncompressed key: ID %s, want %s", k2.ID(), v.id)
	}
}

func TestPublicKeyEqual(t *testing.T) {
	a, b := mustKey(t, 1).Public(), mustKey(t, 2).Public()
	var nilKey *peer.PublicKey
	if !a.Equal(a) || a.Equal(b) || a.Equal(nil) || !nilKey.Equal(nil) {
		t.Error("Equal is wrong")
	}
}

// Unknown fields are skipped, a repeated field keeps its last value.
func TestPublicKeyProtobufLeniency(t *testing.T) {
	v := loadVectors(t)["ed25519"]
	want, _ := peer.UnmarshalPublicKey(v.pub)
	withUnknown := protowire.AppendTag(bytes.Clone(v.pub), 9, protowire.BytesType)
	withUnknown = protowire.AppendBytes(withUnknown, []byte("x"))
	repeated := append(keyMsg(peer.KeyTypeRSA, []byte("junk")), v.pub...)
	for name, b := range map[string][]byte{"unknown field": withUnknown, "repeated fields": repeated} {
		k, err := peer.UnmarshalPublicKey(b)
		if err != nil || !k.Equal(want) {
			t.Errorf("%s: got %v, %v; want the vector key", name, k, err)
		}
		if !bytes.Equal(k.Marshal(), v.pub) {
			t.Errorf("%s: Marshal is not canonical: %x", name, k.Marshal())
		}
	}
}

func rsaPKIX(t *testing.T, n *big.Int) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: n, E: 65537})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestUnmarshalPublicKeyRejects(t *testing.T) {
	v := loadVectors(t)
	edData := v["ed25519"].pub[4:]
	ecdsaData := v["ecdsa"].pub[4:]
	rsaData := v["rsa"].pub[4:]
	// Moduli of the wrong size need no real key: the size check comes first.
	n1024 := new(big.Int).Lsh(big.NewInt(1), 1023)
	n1024.Add(n1024, big.NewInt(1))
	n9000 := new(big.Int).Lsh(big.NewInt(1), 8999)
	n9000.Add(n9000, big.NewInt(1))
	typeOnly := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 1)
	badWire := protowire.AppendTag(nil, 1, protowire.BytesType)
	badWire = protowire.AppendBytes(badWire, []byte{1})
	hugeEnum := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 1<<40)
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, peer.ErrMalformedKey},
		{"truncated", v["ed25519"].pub[:20], peer.ErrMalformedKey},
		{"type only", typeOnly, peer.ErrMalformedKey},
		{"data only", v["ed25519"].pub[2:], peer.ErrMalformedKey},
		{"wrong wire type", badWire, peer.ErrMalformedKey},
		{"enum out of int32", hugeEnum, peer.ErrMalformedKey},
		{"bad tag", []byte{0x00}, peer.ErrMalformedKey},
		{"unknown key type", keyMsg(7, edData), peer.ErrUnsupportedKeyType},
		{"ed25519 31 bytes", keyMsg(peer.KeyTypeEd25519, edData[:31]), peer.ErrMalformedKey},
		{"ed25519 33 bytes", keyMsg(peer.KeyTypeEd25519, append(bytes.Clone(edData), 0)), peer.ErrMalformedKey},
		{"secp256k1 not on curve", keyMsg(peer.KeyTypeSecp256k1, append([]byte{2}, bytes.Repeat([]byte{0xff}, 32)...)), peer.ErrMalformedKey},
		{"secp256k1 holds ed25519", keyMsg(peer.KeyTypeSecp256k1, edData), peer.ErrMalformedKey},
		{"ecdsa holds rsa", keyMsg(peer.KeyTypeECDSA, rsaData), peer.ErrMalformedKey},
		{"rsa holds ecdsa", keyMsg(peer.KeyTypeRSA, ecdsaData), peer.ErrMalformedKey},
		{"rsa garbage", keyMsg(peer.KeyTypeRSA, []byte("not DER")), peer.ErrMalformedKey},
		{"rsa 1024 bits", keyMsg(peer.KeyTypeRSA, rsaPKIX(t, n1024)), peer.ErrWeakKey},
		{"rsa 9000 bits", keyMsg(peer.KeyTypeRSA, rsaPKIX(t, n9000)), peer.ErrKeyTooLarge},
		{"oversized protobuf", keyMsg(peer.KeyTypeRSA, make([]byte, peer.MaxPublicKeySize)), peer.ErrKeyTooLarge},
	}
	for _, c := range cases {
		k, err := peer.UnmarshalPublicKey(c.in)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: UnmarshalPublicKey = %v, %v; want %v", c.name, k, err, c.want)
		}
	}
}

func TestNewPublicKey(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := peer.NewPublicKey(&small.PublicKey); !errors.Is(err, peer.ErrWeakKey) {
		t.Errorf("1024-bit RSA: %v, want ErrWeakKey", err)
	}
	if _, err := peer.NewPublicKey("a string"); !errors.Is(err, peer.ErrUnsupportedKeyType) {
		t.Errorf("string: %v, want ErrUnsupportedKeyType", err)
	}
	// Keys we sign with here, verified through the libp2p rules.
	msg := []byte("message")
	ec, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256sum(msg)
	ecSig, err := ecdsa.SignASN1(rand.Reader, ec, h)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := peer.NewPublicKey(&ec.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if pk.Type() != peer.KeyTypeECDSA {
		t.Errorf("type %v", pk.Type())
	}
	if err := pk.Verify(msg, ecSig); err != nil {
		t.Errorf("ECDSA P-384 Verify: %v", err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := peer.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if err := ek.Verify(msg, ed25519.Sign(priv, msg)); err != nil {
		t.Errorf("Ed25519 Verify: %v", err)
	}
	// An ECDSA signature does not verify as Ed25519, and vice versa.
	if err := ek.Verify(msg, ecSig); !errors.Is(err, peer.ErrInvalidSignature) {
		t.Errorf("Ed25519 key, ECDSA signature: %v", err)
	}
}

func TestKeyTypeString(t *testing.T) {
	for kt, want := range map[peer.KeyType]string{0: "RSA", 1: "Ed25519", 2: "Secp256k1", 3: "ECDSA", 9: "KeyType(9)"} {
		if got := kt.String(); got != want {
			t.Errorf("KeyType(%d).String() = %q, want %q", int32(kt), got, want)
		}
	}
}
