// Package peer holds libp2p identities: key pairs, the libp2p key protobufs,
// and peer IDs.
//
// # Model
//
// A libp2p node is known by its identity key. Its [ID] is a multihash of the
// key's canonical protobuf encoding (the libp2p PublicKey message): the
// encoding itself (identity multihash) when it is at most 42 bytes long, as
// for every Ed25519 key, or its SHA-256 otherwise, as for RSA and ECDSA keys.
// IDs print as base58btc ("12D3KooW…" for Ed25519, "16Uiu2…" for secp256k1,
// "Qm…" for hashed keys) and [Decode] also reads the CIDv1 form with the
// libp2p-key codec ("bafz…" in base32, or any other multibase).
//
// Our own identity is always Ed25519 ([PrivateKey]); remote peers may hold any
// of the four libp2p key types, so [PublicKey] decodes and verifies all of
// them: Ed25519 (signature over the raw message), secp256k1 and ECDSA (DER
// signature over the SHA-256 of the message) and RSA (PKCS #1 v1.5 over the
// SHA-256, 2048 to 8192 bits). Everything is decoded under size limits
// ([MaxPublicKeySize]) so that a hostile peer cannot make us parse or verify
// with keys of arbitrary size.
//
// # Key files
//
// [SavePrivateKey] writes the libp2p PrivateKey protobuf, unencoded, to a file
// with mode 0600: the same bytes go-libp2p's crypto.MarshalPrivateKey
// produces and kubo's "ipfs key export" writes, so a key moves between them
// unchanged. [LoadPrivateKey] refuses a file that the group or others can
// access, with an [*InsecureKeyFileError].
//
// All types are immutable after construction and safe for concurrent use.
package peer
