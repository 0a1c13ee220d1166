package noise

import (
	"bytes"
	"crypto/rand"
	"runtime"
	"testing"
	"weak"

	fnoise "github.com/flynn/noise"

	"github.com/yamuxgo/yamux/peer"
)

// x25519DH computes what flynn/noise's DH25519 computes, for keys it made,
// for keys it did not, and fails as DH25519 does on a low-order point.
func TestX25519DHMatchesDH25519(t *testing.T) {
	for range 8 {
		var d x25519DH
		ours, err := d.GenerateKeypair(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := fnoise.DH25519.GenerateKeypair(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		want, err := fnoise.DH25519.DH(ours.Private, theirs.Public)
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.DH(ours.Private, theirs.Public)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("DH with our key: %x, %v; want %x", got, err, want)
		}
		// The other direction: a private key x25519DH did not make.
		got, err = d.DH(theirs.Private, ours.Public)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("DH with a foreign key: %x, %v; want %x", got, err, want)
		}
	}
	var d x25519DH
	k, err := d.GenerateKeypair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	base := make([]byte, 32)
	base[0] = 9
	if pub, err := fnoise.DH25519.DH(k.Private, base); err != nil || !bytes.Equal(pub, k.Public) {
		t.Fatalf("public key %x is not the private key times the base point (%x, %v)", k.Public, pub, err)
	}
	lowOrder := make([]byte, 32) // the point at infinity's u-coordinate
	if _, err := d.DH(k.Private, lowOrder); err == nil {
		t.Error("DH with a low-order point succeeded")
	}
	if _, err := fnoise.DH25519.DH(k.Private, lowOrder); err == nil {
		t.Error("DH25519 with a low-order point succeeded (the test's premise)")
	}
}

// An identity's static key is made once and signed by it; once the
// identity is unreachable its cache entry goes.
func TestStaticCache(t *testing.T) {
	id, err := peer.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a, err := staticFor(id)
	if err != nil {
		t.Fatal(err)
	}
	b, err := staticFor(id)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatal("two static keys for one identity")
	}
	if err := id.Public().Verify(signedMessage(a.key.PublicKey().Bytes()), a.sig); err != nil {
		t.Fatalf("signature over the static key: %v", err)
	}
	wp := weak.Make(id)
	id = nil
	_ = id
	for i := 0; ; i++ {
		runtime.GC()
		statics.mu.Lock()
		s := statics.m[wp]
		statics.mu.Unlock()
		if s == nil {
			break
		}
		if i == 1000 {
			t.Fatal("the cache entry outlived its identity")
		}
		runtime.Gosched()
	}
}
