// Package noise secures a connection with libp2p's Noise handshake,
// Noise_XX_25519_ChaChaPoly_SHA256, and returns it as a net.Conn.
//
// # Model
//
// The dialer calls SecureOutbound with the peer ID it expects, the listener
// SecureInbound, after both agreed on "/noise" (ID) with multistream-select.
// Each side proves its libp2p identity (package peer) by signing its X25519
// static key in the handshake payload. The static key is made and signed
// once per identity and process and kept in memory only; the ephemeral key
// is fresh per handshake. The dialer refuses a responder with another peer ID before any
// application byte is exchanged. Handshake messages are bounded
// (MaxHandshakeMessageSize) and the whole handshake is bounded in time.
//
// Both sides may list stream muxers in the payload's extensions (inlined
// muxer negotiation): Conn.Muxer is the first of the initiator's muxers the
// responder also lists. When there is none — no overlap, a side sent no
// list, or a list longer than MaxMuxers — Muxer is "" and the muxer is
// negotiated with multistream-select inside the secured conn. The
// inlined-muxer-negotiation spec says a handshake without overlap MUST fail;
// we fall back instead, as go-libp2p does (docs/libp2p-decisions.md).
//
// # Records
//
// After the handshake every message is a 2-byte big-endian length and at
// most 65535 bytes of ChaCha20-Poly1305 ciphertext. The Conn is built for
// bulk transfer: writes are packed into full messages and batched into few
// syscalls (see Conn.WriteBuffers), a message that lies in one of the
// caller's buffers is sealed straight from it, and reads take a whole
// message per read and decrypt into the caller's buffer (or in place in a
// pooled one), without allocating. Any authentication failure or framing error poisons
// the direction it happened in; see Conn.
package noise
