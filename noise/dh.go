package noise

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"io"
	"runtime"
	"sync"
	"weak"

	fnoise "github.com/flynn/noise"

	"github.com/yamuxgo/yamux/peer"
)

// x25519DH is the handshake's Diffie-Hellman function: X25519 as
// flynn/noise's DH25519 computes it, at half the cost. DH25519 goes through
// x/crypto's curve25519.X25519, which builds a crypto/ecdh private key for
// every call, and building one computes its public key: every DH and every
// key generation costs two scalar multiplications where one is needed. Here
// the keys this handshake generated (or was given) are kept as
// *ecdh.PrivateKey, so a DH with one of them is one multiplication and a
// key generation is one. One value serves one handshake.
type x25519DH struct {
	keys [2]*ecdh.PrivateKey // the static and the ephemeral key
	n    int
}

var _ fnoise.DHFunc = (*x25519DH)(nil)

// add keeps k for the DHs to come and returns it as flynn/noise holds keys.
func (d *x25519DH) add(k *ecdh.PrivateKey) fnoise.DHKey {
	if d.n < len(d.keys) {
		d.keys[d.n] = k
		d.n++
	}
	return fnoise.DHKey{Private: k.Bytes(), Public: k.PublicKey().Bytes()}
}

// GenerateKeypair reads the private key from rng itself (rather than
// through ecdh's GenerateKey, which may ignore a custom reader) so that a
// test's Config.Rand still decides it.
func (d *x25519DH) GenerateKeypair(rng io.Reader) (fnoise.DHKey, error) {
	k, err := newX25519Key(rng)
	if err != nil {
		return fnoise.DHKey{}, err
	}
	return d.add(k), nil
}

func newX25519Key(rng io.Reader) (*ecdh.PrivateKey, error) {
	if rng == nil {
		rng = rand.Reader
	}
	var b [32]byte
	if _, err := io.ReadFull(rng, b[:]); err != nil {
		return nil, err
	}
	return ecdh.X25519().NewPrivateKey(b[:])
}

// DH fails, as DH25519 does, on a low-order public key (an all-zero
// shared secret).
func (d *x25519DH) DH(private, public []byte) ([]byte, error) {
	var k *ecdh.PrivateKey
	for _, c := range d.keys[:d.n] {
		if subtle.ConstantTimeCompare(c.Bytes(), private) == 1 {
			k = c
			break
		}
	}
	curve := ecdh.X25519()
	if k == nil { // not one of ours: never the case in XX, kept for safety
		var err error
		if k, err = curve.NewPrivateKey(private); err != nil {
			return nil, err
		}
	}
	pub, err := curve.NewPublicKey(public)
	if err != nil {
		return nil, err
	}
	return k.ECDH(pub)
}

// DHLen and DHName are DH25519's: the name is part of the protocol name
// that both sides hash, so it must stay "25519".
func (d *x25519DH) DHLen() int     { return 32 }
func (d *x25519DH) DHName() string { return fnoise.DH25519.DHName() }

// localStatic is an identity's Noise static key and the identity's
// signature over it, made once per identity and process: libp2p
// authenticates the identity key, and the static key is only what that
// key vouches for, so there is no reason to make and sign a new one on
// every handshake (js-libp2p too keeps one per node). Forward secrecy
// comes from the ephemeral keys, which stay fresh per handshake. The static
// key never leaves the process and travels encrypted in message 2 or 3,
// so reusing it lets no observer link handshakes.
type localStatic struct {
	key *ecdh.PrivateKey
	sig []byte // identity signature over signaturePrefix || public key
}

// statics caches localStatic by identity. Keys are weak so that an
// identity that is no longer used takes its entry with it.
var statics struct {
	mu sync.Mutex
	m  map[weak.Pointer[peer.PrivateKey]]*localStatic
}

// staticFor returns id's static key, making and signing it on first use.
func staticFor(id *peer.PrivateKey) (*localStatic, error) {
	wp := weak.Make(id)
	statics.mu.Lock()
	s := statics.m[wp]
	statics.mu.Unlock()
	if s != nil {
		return s, nil
	}
	s, err := newLocalStatic(id, nil)
	if err != nil {
		return nil, err
	}
	statics.mu.Lock()
	defer statics.mu.Unlock()
	if prev := statics.m[wp]; prev != nil { // a concurrent first handshake won
		return prev, nil
	}
	if statics.m == nil {
		statics.m = make(map[weak.Pointer[peer.PrivateKey]]*localStatic)
	}
	statics.m[wp] = s
	runtime.AddCleanup(id, func(wp weak.Pointer[peer.PrivateKey]) {
		statics.mu.Lock()
		delete(statics.m, wp)
		statics.mu.Unlock()
	}, wp)
	return s, nil
}

// newLocalStatic makes a static key from rng (nil: crypto/rand) and signs it.
func newLocalStatic(id *peer.PrivateKey, rng io.Reader) (*localStatic, error) {
	k, err := newX25519Key(rng)
	if err != nil {
		return nil, fmt.Errorf("generating the static key: %w", err)
	}
	sig, err := id.Sign(signedMessage(k.PublicKey().Bytes()))
	if err != nil {
		return nil, fmt.Errorf("signing the static key: %w", err)
	}
	return &localStatic{key: k, sig: sig}, nil
}
