package peer

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"fmt"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	secpecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// Size limits applied before any key or signature is parsed.
const (
	// MaxPublicKeySize is the largest PublicKey protobuf accepted. It fits an
	// 8192-bit RSA key in PKIX form (about 1.1 KB) with room to spare.
	MaxPublicKeySize = 2048
	// MinRSABits and MaxRSABits bound the modulus of RSA keys we accept.
	MinRSABits = 2048
	MaxRSABits = 8192
	// maxSignatureSize covers an 8192-bit RSA signature (1024 bytes); DER
	// ECDSA signatures are far shorter.
	maxSignatureSize = MaxRSABits / 8
)

// PublicKey is a libp2p public key of any of the four key types. It is
// immutable; its canonical protobuf encoding is computed once.
type PublicKey struct {
	typ       KeyType
	data      []byte           // canonical Data field
	marshaled []byte           // canonical PublicKey protobuf
	key       crypto.PublicKey // ed25519.PublicKey, *secp256k1.PublicKey, *ecdsa.PublicKey or *rsa.PublicKey
}

// UnmarshalPublicKey decodes a libp2p PublicKey protobuf, as carried in the
// Noise handshake payload and in identify. The key is validated (on its
// curve, RSA size within [MinRSABits, MaxRSABits]) and re-encoded in the
// canonical form go-libp2p uses, from which its ID is derived.
func UnmarshalPublicKey(b []byte) (*PublicKey, error) {
	if len(b) > MaxPublicKeySize {
		return nil, fmt.Errorf("%w: public key protobuf of %d bytes (max %d)", ErrKeyTooLarge, len(b), MaxPublicKeySize)
	}
	t, data, err := decodeKeyMessage(b)
	if err != nil {
		return nil, err
	}
	return publicKeyFromData(t, data)
}

// NewPublicKey wraps a standard-library or secp256k1 public key:
// ed25519.PublicKey, *ecdsa.PublicKey (NIST curves), *rsa.PublicKey or
// *secp256k1.PublicKey. It applies the same checks as UnmarshalPublicKey.
func NewPublicKey(k crypto.PublicKey) (*PublicKey, error) {
	switch k := k.(type) {
	case ed25519.PublicKey:
		return publicKeyFromData(KeyTypeEd25519, k)
	case *secp256k1.PublicKey:
		return publicKeyFromData(KeyTypeSecp256k1, k.SerializeCompressed())
	case *ecdsa.PublicKey, *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformedKey, err)
		}
		t := KeyTypeRSA
		if _, ok := k.(*ecdsa.PublicKey); ok {
			t = KeyTypeECDSA
		}
		return publicKeyFromData(t, der)
	}
	return nil, fmt.Errorf("%w: %T", ErrUnsupportedKeyType, k)
}

// publicKeyFromData parses the Data field of a key of type t and builds the
// canonical form. data is not retained.
func publicKeyFromData(t KeyType, data []byte) (*PublicKey, error) {
	var (
		key       crypto.PublicKey
		canonical []byte
	)
	switch t {
	case KeyTypeEd25519:
		if len(data) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: Ed25519 key of %d bytes", ErrMalformedKey, len(data))
		}
		canonical = bytes.Clone(data)
		key = ed25519.PublicKey(canonical)
	case KeyTypeSecp256k1:
		k, err := secp256k1.ParsePubKey(data)
		if err != nil {
			return nil, fmt.Errorf("%w: secp256k1: %w", ErrMalformedKey, err)
		}
		key, canonical = k, k.SerializeCompressed()
	case KeyTypeECDSA:
		k, err := x509.ParsePKIXPublicKey(data)
		if err != nil {
			return nil, fmt.Errorf("%w: ECDSA: %w", ErrMalformedKey, err)
		}
		ek, ok := k.(*ecdsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%w: ECDSA key type holds a %T", ErrMalformedKey, k)
		}
		if canonical, err = x509.MarshalPKIXPublicKey(ek); err != nil {
			return nil, fmt.Errorf("%w: ECDSA: %w", ErrMalformedKey, err)
		}
		key = ek
	case KeyTypeRSA:
		k, err := x509.ParsePKIXPublicKey(data)
		if err != nil {
			return nil, fmt.Errorf("%w: RSA: %w", ErrMalformedKey, err)
		}
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%w: RSA key type holds a %T", ErrMalformedKey, k)
		}
		switch bits := rk.N.BitLen(); {
		case bits < MinRSABits:
			return nil, fmt.Errorf("%w: RSA key of %d bits (min %d)", ErrWeakKey, bits, MinRSABits)
		case bits > MaxRSABits:
			return nil, fmt.Errorf("%w: RSA key of %d bits (max %d)", ErrKeyTooLarge, bits, MaxRSABits)
		}
		if canonical, err = x509.MarshalPKIXPublicKey(rk); err != nil {
			return nil, fmt.Errorf("%w: RSA: %w", ErrMalformedKey, err)
		}
		key = rk
	default:
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedKeyType, t)
	}
	return &PublicKey{
		typ:       t,
		data:      canonical,
		marshaled: appendKeyMessage(nil, t, canonical),
		key:       key,
	}, nil
}

// Type returns the key type.
func (k *PublicKey) Type() KeyType { return k.typ }

// Raw returns a copy of the key's Data field: 32 bytes for Ed25519, the
// 33-byte compressed point for secp256k1, PKIX DER for ECDSA and RSA.
func (k *PublicKey) Raw() []byte { return bytes.Clone(k.data) }

// Marshal returns a copy of the canonical libp2p PublicKey protobuf.
func (k *PublicKey) Marshal() []byte { return bytes.Clone(k.marshaled) }

// AppendMarshal appends the canonical libp2p PublicKey protobuf to b.
func (k *PublicKey) AppendMarshal(b []byte) []byte { return append(b, k.marshaled...) }

// CryptoPublicKey returns the underlying key: ed25519.PublicKey,
// *secp256k1.PublicKey, *ecdsa.PublicKey or *rsa.PublicKey. Do not modify it.
func (k *PublicKey) CryptoPublicKey() crypto.PublicKey { return k.key }

// Equal reports whether k and o are the same key. Two nil keys are equal.
func (k *PublicKey) Equal(o *PublicKey) bool {
	if k == nil || o == nil {
		return k == o
	}
	return k.typ == o.typ && bytes.Equal(k.data, o.data)
}

// ID returns the peer ID of k; see IDFromPublicKey.
func (k *PublicKey) ID() ID { return IDFromPublicKey(k) }

// Verify checks sig over msg with the libp2p rules of k's type: Ed25519
// signs msg itself; secp256k1 and ECDSA sign its SHA-256 with a DER-encoded
// signature; RSA signs its SHA-256 with PKCS #1 v1.5. It returns nil for a
// valid signature and an error matching ErrInvalidSignature otherwise.
func (k *PublicKey) Verify(msg, sig []byte) error {
	if len(sig) > maxSignatureSize {
		return fmt.Errorf("%w: %v signature of %d bytes", ErrInvalidSignature, k.typ, len(sig))
	}
	ok := false
	switch key := k.key.(type) {
	case ed25519.PublicKey:
		ok = len(sig) == ed25519.SignatureSize && ed25519.Verify(key, msg, sig)
	case *secp256k1.PublicKey:
		s, err := secpecdsa.ParseDERSignature(sig)
		if err != nil {
			return fmt.Errorf("%w: secp256k1: %w", ErrInvalidSignature, err)
		}
		h := sha256.Sum256(msg)
		ok = s.Verify(h[:], key)
	case *ecdsa.PublicKey:
		h := sha256.Sum256(msg)
		ok = ecdsa.VerifyASN1(key, h[:], sig)
	case *rsa.PublicKey:
		h := sha256.Sum256(msg)
		if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, h[:], sig); err != nil {
			return fmt.Errorf("%w: RSA: %w", ErrInvalidSignature, err)
		}
		ok = true
	}
	if !ok {
		return fmt.Errorf("%w: %v", ErrInvalidSignature, k.typ)
	}
	return nil
}
