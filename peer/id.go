package peer

import (
	"crypto/sha256"
	"fmt"
	"strings"

	"github.com/mr-tron/base58"
	"github.com/multiformats/go-multibase"
	"github.com/multiformats/go-multihash"
	"github.com/multiformats/go-varint"
)

// maxInlineKeySize is the longest encoded key that an ID embeds (identity
// multihash) rather than hashes (libp2p peer-ids spec).
const maxInlineKeySize = 42

// maxIDStringLen bounds the strings Decode parses; the longest valid ID in
// the longest multibase (base2) is under 400 characters.
const maxIDStringLen = 512

// codecLibp2pKey is the multicodec of a CID that names a peer.
const codecLibp2pKey = 0x72

// ID is a peer ID: the binary multihash of a peer's public key. IDs are
// comparable with == and usable as map keys; the zero ID is no peer.
type ID struct {
	mh string // binary multihash: identity (≤ 42-byte digest) or sha2-256
}

// IDFromPublicKey returns the ID of k: the identity multihash of its
// canonical encoding when that is at most 42 bytes long, else its sha2-256
// multihash.
func IDFromPublicKey(k *PublicKey) ID {
	var (
		mh  []byte
		err error
	)
	if len(k.marshaled) <= maxInlineKeySize {
		mh, err = multihash.Encode(k.marshaled, multihash.IDENTITY)
	} else {
		sum := sha256.Sum256(k.marshaled)
		mh, err = multihash.Encode(sum[:], multihash.SHA2_256)
	}
	if err != nil { // only for unknown codes; both are built in
		panic("peer: multihash.Encode: " + err.Error())
	}
	return ID{mh: string(mh)}
}

// IDFromBytes parses a binary peer ID (a multihash), as found in a /p2p
// multiaddr component and in identify. Only identity multihashes of at most
// 42 bytes and sha2-256 multihashes are peer IDs.
func IDFromBytes(b []byte) (ID, error) {
	dm, err := multihash.Decode(b)
	if err != nil {
		return ID{}, fmt.Errorf("%w: %w", ErrInvalidID, err)
	}
	switch dm.Code {
	case multihash.IDENTITY:
		if dm.Length > maxInlineKeySize {
			return ID{}, fmt.Errorf("%w: identity multihash of %d bytes (max %d)", ErrInvalidID, dm.Length, maxInlineKeySize)
		}
	case multihash.SHA2_256:
		if dm.Length != sha256.Size {
			return ID{}, fmt.Errorf("%w: sha2-256 multihash of %d bytes", ErrInvalidID, dm.Length)
		}
	default:
		return ID{}, fmt.Errorf("%w: multihash code %#x is neither identity nor sha2-256", ErrInvalidID, dm.Code)
	}
	return ID{mh: string(b)}, nil
}

// Decode parses a peer ID string: the legacy base58btc multihash ("12D3KooW…",
// "16Uiu2…", "Qm…"), or a CIDv1 with the libp2p-key codec in any multibase
// ("bafz…" base32, "k51…" base36, …).
func Decode(s string) (ID, error) {
	if len(s) > maxIDStringLen {
		return ID{}, fmt.Errorf("%w: %d characters", ErrInvalidID, len(s))
	}
	// Base58btc multihashes of identity and sha2-256 start with '1' and "Qm";
	// no multibase prefix is either, so the forms cannot be confused.
	if strings.HasPrefix(s, "1") || strings.HasPrefix(s, "Qm") {
		b, err := base58.Decode(s)
		if err != nil {
			return ID{}, fmt.Errorf("%w: base58: %w", ErrInvalidID, err)
		}
		return IDFromBytes(b)
	}
	_, b, err := multibase.Decode(s)
	if err != nil {
		return ID{}, fmt.Errorf("%w: %w", ErrInvalidID, err)
	}
	version, n, err := varint.FromUvarint(b)
	if err != nil {
		return ID{}, fmt.Errorf("%w: CID version: %w", ErrInvalidID, err)
	}
	if version != 1 {
		return ID{}, fmt.Errorf("%w: CID version %d, want 1", ErrInvalidID, version)
	}
	b = b[n:]
	codec, n, err := varint.FromUvarint(b)
	if err != nil {
		return ID{}, fmt.Errorf("%w: CID codec: %w", ErrInvalidID, err)
	}
	if codec != codecLibp2pKey {
		return ID{}, fmt.Errorf("%w: CID codec %#x, want libp2p-key (%#x)", ErrInvalidID, codec, codecLibp2pKey)
	}
	return IDFromBytes(b[n:])
}

// String returns the base58btc form, as go-libp2p prints IDs ("" for the
// zero ID).
func (id ID) String() string { return base58.Encode([]byte(id.mh)) }

// CIDString returns the CIDv1 form (libp2p-key codec, base32 multibase:
// "bafz…"), or "" for the zero ID.
func (id ID) CIDString() string {
	if id.mh == "" {
		return ""
	}
	b := varint.ToUvarint(1)
	b = append(b, varint.ToUvarint(codecLibp2pKey)...)
	b = append(b, id.mh...)
	s, err := multibase.Encode(multibase.Base32, b)
	if err != nil { // only for unknown bases
		panic("peer: multibase.Encode: " + err.Error())
	}
	return s
}

// Bytes returns the binary multihash (nil for the zero ID).
func (id ID) Bytes() []byte {
	if id.mh == "" {
		return nil
	}
	return []byte(id.mh)
}

// IsZero reports whether id is the zero ID.
func (id ID) IsZero() bool { return id.mh == "" }

// MatchesPublicKey reports whether id is the ID of k.
func (id ID) MatchesPublicKey(k *PublicKey) bool {
	return k != nil && id.mh != "" && IDFromPublicKey(k) == id
}

// ExtractPublicKey returns the public key embedded in an identity-multihash
// ID (every Ed25519 and secp256k1 ID). For hashed IDs it returns
// ErrNoPublicKey.
func (id ID) ExtractPublicKey() (*PublicKey, error) {
	dm, err := multihash.Decode([]byte(id.mh))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidID, err)
	}
	if dm.Code != multihash.IDENTITY {
		return nil, fmt.Errorf("%w: %s", ErrNoPublicKey, id)
	}
	return UnmarshalPublicKey(dm.Digest)
}

// MarshalText implements encoding.TextMarshaler with the base58btc form.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with Decode.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := Decode(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}
