package peer_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/mr-tron/base58"
	"github.com/multiformats/go-multibase"
	"github.com/multiformats/go-multihash"

	"github.com/yamuxgo/yamux/peer"
)

func TestIDVectors(t *testing.T) {
	for name, v := range loadVectors(t) {
		t.Run(name, func(t *testing.T) {
			k, err := peer.UnmarshalPublicKey(v.pub)
			if err != nil {
				t.Fatal(err)
			}
			id := peer.IDFromPublicKey(k)
			if id.String() != v.id {
				t.Errorf("String = %s, want %s", id, v.id)
			}
			if !bytes.Equal(id.Bytes(), v.idHex) {
				t.Errorf("Bytes = %x, want %x", id.Bytes(), v.idHex)
			}
			if id.CIDString() != v.cid {
				t.Errorf("CIDString = %s, want %s", id.CIDString(), v.cid)
			}
			for _, s := range []string{v.id, v.cid} {
				got, err := peer.Decode(s)
				if err != nil || got != id {
					t.Errorf("Decode(%s) = %v, %v; want %v", s, got, err, id)
				}
			}
			got, err := peer.IDFromBytes(v.idHex)
			if err != nil || got != id {
				t.Errorf("IDFromBytes = %v, %v", got, err)
			}
			if !id.MatchesPublicKey(k) {
				t.Error("MatchesPublicKey(own key) = false")
			}
			if id.MatchesPublicKey(mustKey(t, 7).Public()) || id.MatchesPublicKey(nil) {
				t.Error("MatchesPublicKey(other key) = true")
			}
			ek, err := id.ExtractPublicKey()
			switch name {
			case "ed25519", "secp256k1": // ≤ 42 bytes: embedded
				if err != nil || !ek.Equal(k) {
					t.Errorf("ExtractPublicKey = %v, %v", ek, err)
				}
			default:
				if !errors.Is(err, peer.ErrNoPublicKey) {
					t.Errorf("ExtractPublicKey = %v, %v; want ErrNoPublicKey", ek, err)
				}
			}
		})
	}
}

// Every multibase reads, not only base32.
func TestDecodeMultibases(t *testing.T) {
	v := loadVectors(t)["ed25519"]
	want, _ := peer.Decode(v.id)
	cid := append([]byte{0x01, 0x72}, v.idHex...)
	for _, enc := range []multibase.Encoding{multibase.Base32, multibase.Base32Upper, multibase.Base36,
		multibase.Base58BTC, multibase.Base64, multibase.Base64url, multibase.Base16, multibase.Base2} {
		s, err := multibase.Encode(enc, cid)
		if err != nil {
			t.Fatal(err)
		}
		got, err := peer.Decode(s)
		if err != nil || got != want {
			t.Errorf("Decode(%s) = %v, %v; want %v", s, got, err, want)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	v := loadVectors(t)["ed25519"]
	cidWith := func(prefix ...byte) string {
		s, _ := multibase.Encode(multibase.Base32, append(prefix, v.idHex...))
		return s
	}
	sha1, _ := multihash.Sum([]byte("x"), multihash.SHA1, -1)
	short256, _ := multihash.Encode(make([]byte, 20), multihash.SHA2_256)
	bigIdentity, _ := multihash.Encode(make([]byte, 43), multihash.IDENTITY)
	cases := map[string]string{
		"empty":                   "",
		"bad base58 character":    "12D3KooW0OIl",
		"truncated":               v.id[:len(v.id)-3],
		"extra byte":              base58.Encode(append(bytes.Clone(v.idHex), 0)),
		"Qm not a multihash":      "Qm",
		"sha1 multihash":          base58.Encode(sha1),
		"short sha2-256":          base58.Encode(short256),
		"identity over 42 bytes":  base58.Encode(bigIdentity),
		"CID with dag-pb codec":   cidWith(0x01, 0x70),
		"CID version 0":           cidWith(0x00, 0x72),
		"CID version 2":           cidWith(0x02, 0x72),
		"CID bad varint":          cidWith(0x81),
		"unknown multibase":       "\x01abc",
		"bad base32":              "b!!!",
		"overlong":                "b" + strings.Repeat("a", 600),
		"CID with nothing after":  cidWith()[:1],
		"non-minimal CID version": cidWith(0x81, 0x00, 0x72),
	}
	for name, s := range cases {
		if id, err := peer.Decode(s); !errors.Is(err, peer.ErrInvalidID) {
			t.Errorf("%s: Decode(%q) = %v, %v; want ErrInvalidID", name, s, id, err)
		}
	}
	if _, err := peer.IDFromBytes(nil); !errors.Is(err, peer.ErrInvalidID) {
		t.Errorf("IDFromBytes(nil) = %v", err)
	}
}

func TestIDZeroAndText(t *testing.T) {
	var zero peer.ID
	if !zero.IsZero() || zero.String() != "" || zero.CIDString() != "" || zero.Bytes() != nil {
		t.Error("zero ID is not empty")
	}
	if zero.MatchesPublicKey(mustKey(t, 1).Public()) {
		t.Error("zero ID matches a key")
	}
	id := mustKey(t, 1).ID()
	if id.IsZero() {
		t.Error("IsZero of a real ID")
	}
	txt, err := id.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	var back peer.ID
	if err := back.UnmarshalText(txt); err != nil || back != id {
		t.Errorf("text round trip: %v, %v", back, err)
	}
	if err := back.UnmarshalText([]byte("nope")); !errors.Is(err, peer.ErrInvalidID) {
		t.Errorf("UnmarshalText(nope) = %v", err)
	}
	if !strings.HasPrefix(id.String(), "12D3KooW") {
		t.Errorf("Ed25519 ID %s lacks the 12D3KooW prefix", id)
	}
}
