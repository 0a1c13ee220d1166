package peer

import (
	"errors"
	"fmt"
	"io/fs"
)

// Sentinel errors. Functions wrap them with context; test with errors.Is.
var (
	// ErrMalformedKey: a key protobuf or key encoding could not be parsed.
	ErrMalformedKey = errors.New("peer: malformed key")
	// ErrUnsupportedKeyType: the key type is unknown, or not supported for
	// this use (only Ed25519 private keys are supported).
	ErrUnsupportedKeyType = errors.New("peer: unsupported key type")
	// ErrKeyTooLarge: an encoded key exceeds the size limits.
	ErrKeyTooLarge = errors.New("peer: key too large")
	// ErrWeakKey: an RSA key is shorter than 2048 bits.
	ErrWeakKey = errors.New("peer: key too weak")
	// ErrInvalidSignature: a signature does not verify under the key.
	ErrInvalidSignature = errors.New("peer: invalid signature")
	// ErrInvalidID: a peer ID (string or bytes) is malformed: not base58 or
	// a multibase CIDv1, wrong CID codec, or not an identity or sha2-256
	// multihash of the right length.
	ErrInvalidID = errors.New("peer: invalid peer ID")
	// ErrNoPublicKey: the peer ID is a hash, so it does not contain the key.
	ErrNoPublicKey = errors.New("peer: peer ID does not embed its public key")
	// ErrInsecureKeyFile: a private key file is accessible by group or
	// others. The error returned is an *InsecureKeyFileError.
	ErrInsecureKeyFile = errors.New("peer: insecure private key file")
)

// InsecureKeyFileError is returned by LoadPrivateKey for a key file whose
// permissions let the group or others access it. It matches
// ErrInsecureKeyFile with errors.Is.
type InsecureKeyFileError struct {
	Path string
	Mode fs.FileMode
}

// Error implements error.
func (e *InsecureKeyFileError) Error() string {
	return fmt.Sprintf("peer: private key file %s has mode %04o: group or others can access it (want 0600)",
		e.Path, e.Mode.Perm())
}

// Is reports whether target is ErrInsecureKeyFile.
func (e *InsecureKeyFileError) Is(target error) bool { return target == ErrInsecureKeyFile }
