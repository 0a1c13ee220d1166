package peer_test

import (
	"bytes"
	"testing"

	"github.com/yamuxgo/yamux/peer"
)

// FuzzUnmarshalPublicKey: any input is rejected with an error or yields a
// key whose canonical encoding decodes to the same key and ID.
func FuzzUnmarshalPublicKey(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.pub)
	}
	f.Add([]byte{0x08, 0x01, 0x12, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := peer.UnmarshalPublicKey(b)
		if err != nil {
			return
		}
		m := k.Marshal()
		if len(m) > peer.MaxPublicKeySize {
			t.Fatalf("canonical key of %d bytes", len(m))
		}
		k2, err := peer.UnmarshalPublicKey(m)
		if err != nil {
			t.Fatalf("canonical encoding does not decode: %v", err)
		}
		if !k2.Equal(k) || !bytes.Equal(k2.Marshal(), m) || k2.ID() != k.ID() {
			t.Fatal("canonical encoding is not stable")
		}
		if !k.ID().MatchesPublicKey(k) {
			t.Fatal("ID does not match its key")
		}
		_ = k.Verify([]byte("m"), b) // must not panic
	})
}

// FuzzUnmarshalPrivateKey: no panics; accepted keys round-trip.
func FuzzUnmarshalPrivateKey(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.priv)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := peer.UnmarshalPrivateKey(b)
		if err != nil {
			return
		}
		k2, err := peer.UnmarshalPrivateKey(k.Marshal())
		if err != nil || !k2.Equal(k) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzDecodeID: accepted IDs print and re-parse to themselves in every form.
func FuzzDecodeID(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.id)
		f.Add(v.cid)
	}
	f.Add("k51qzi5uqu5dhx2wq2mqtlbqfk4ma1gcfwxx8oqsd6ff1hj9wbhqfmx4w6i1n7")
	f.Add("zQ3shX")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := peer.Decode(s)
		if err != nil {
			return
		}
		for _, form := range []string{id.String(), id.CIDString()} {
			got, err := peer.Decode(form)
			if err != nil || got != id {
				t.Fatalf("Decode(%q) = %v, %v; want %v", form, got, err, id)
			}
		}
		got, err := peer.IDFromBytes(id.Bytes())
		if err != nil || got != id {
			t.Fatalf("IDFromBytes: %v, %v", got, err)
		}
	})
}
