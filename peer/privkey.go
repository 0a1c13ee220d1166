package peer

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"io"
)

// maxPrivateKeySize bounds the PrivateKey protobufs we parse (an Ed25519 key
// is 68 or 100 bytes; the bound also covers any file we read).
const maxPrivateKeySize = 4096

// PrivateKey is our own identity key. Only Ed25519 is supported: it is what
// every libp2p implementation must speak, and the only type whose peer ID
// embeds the key.
type PrivateKey struct {
	key ed25519.PrivateKey
	pub *PublicKey
}

// GenerateEd25519Key returns a new Ed25519 identity drawn from r, or from
// crypto/rand when r is nil.
func GenerateEd25519Key(r io.Reader) (*PrivateKey, error) {
	if r == nil {
		r = rand.Reader
	}
	seed := make([]byte, ed25519.SeedSize)
	if _, err := io.ReadFull(r, seed); err != nil {
		return nil, fmt.Errorf("peer: generating Ed25519 key: %w", err)
	}
	return NewEd25519KeyFromSeed(seed)
}

// NewEd25519KeyFromSeed returns the Ed25519 identity with the 32-byte seed
// (RFC 8032 private key). Equal seeds give equal keys and peer IDs.
func NewEd25519KeyFromSeed(seed []byte) (*PrivateKey, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: Ed25519 seed of %d bytes, want %d", ErrMalformedKey, len(seed), ed25519.SeedSize)
	}
	return newEd25519(ed25519.NewKeyFromSeed(seed))
}

func newEd25519(k ed25519.PrivateKey) (*PrivateKey, error) {
	pub, err := publicKeyFromData(KeyTypeEd25519, k.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	return &PrivateKey{key: k, pub: pub}, nil
}

// UnmarshalPrivateKey decodes a libp2p PrivateKey protobuf holding an
// Ed25519 key. Its Data is the 64-byte seed||public key, or the 96-byte
// legacy form with the public key repeated, which go-libp2p also reads; the
// public half must match the seed.
func UnmarshalPrivateKey(b []byte) (*PrivateKey, error) {
	if len(b) > maxPrivateKeySize {
		return nil, fmt.Errorf("%w: private key protobuf of %d bytes", ErrKeyTooLarge, len(b))
	}
	t, data, err := decodeKeyMessage(b)
	if err != nil {
		return nil, err
	}
	if t != KeyTypeEd25519 {
		return nil, fmt.Errorf("%w: private key of type %v (only Ed25519)", ErrUnsupportedKeyType, t)
	}
	switch len(data) {
	case ed25519.PrivateKeySize + ed25519.PublicKeySize:
		if !bytes.Equal(data[ed25519.PrivateKeySize:], data[ed25519.SeedSize:ed25519.PrivateKeySize]) {
			return nil, fmt.Errorf("%w: Ed25519 legacy key: the repeated public key differs", ErrMalformedKey)
		}
	case ed25519.PrivateKeySize:
	default:
		return nil, fmt.Errorf("%w: Ed25519 private key of %d bytes", ErrMalformedKey, len(data))
	}
	k := ed25519.NewKeyFromSeed(data[:ed25519.SeedSize])
	if subtle.ConstantTimeCompare(k[ed25519.SeedSize:], data[ed25519.SeedSize:ed25519.PrivateKeySize]) != 1 {
		return nil, fmt.Errorf("%w: Ed25519 public key does not match the seed", ErrMalformedKey)
	}
	return newEd25519(k)
}

// Marshal returns the libp2p PrivateKey protobuf (Data = seed || public
// key), the format of go-libp2p's crypto.MarshalPrivateKey.
func (k *PrivateKey) Marshal() []byte { return appendKeyMessage(nil, KeyTypeEd25519, k.key) }

// Type returns the key type, always KeyTypeEd25519.
func (k *PrivateKey) Type() KeyType { return KeyTypeEd25519 }

// Public returns the public half.
func (k *PrivateKey) Public() *PublicKey { return k.pub }

// ID returns the peer ID of the key.
func (k *PrivateKey) ID() ID { return IDFromPublicKey(k.pub) }

// Sign signs msg (Ed25519 signs the message itself, no prehash). The error
// is always nil for Ed25519; it is there for other key types.
func (k *PrivateKey) Sign(msg []byte) ([]byte, error) { return ed25519.Sign(k.key, msg), nil }

// Equal reports whether k and o are the same key, in constant time.
func (k *PrivateKey) Equal(o *PrivateKey) bool {
	if k == nil || o == nil {
		return k == o
	}
	return k.key.Equal(o.key)
}
