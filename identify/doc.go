// Package identify implements libp2p's identify protocol (/ipfs/id/1.0.0):
// right after a connection is up, each side opens a stream to the other and
// the listener of that stream writes one Identify record (its protocols,
// listen addresses, public key, agent and protocol version, and the
// address it observed the dialer at), then closes it.
//
// # Model
//
// A Record is the decoded message. Write sends one, varint-length
// delimited; Read reads up to MaxMessages of them until EOF and merges
// them as protobuf does (go-libp2p may split a large record), refusing any
// message over MaxMessageSize. Decoding is lenient where peers differ and
// strict where safety needs it: unknown fields and the signedPeerRecord
// (field 8, which we do not verify) are skipped; a listen address that is
// not a valid multiaddr is dropped; a wrong wire type, a truncated field
// or more than MaxProtocols protocols is an error matching ErrMalformed.
//
// The package does no stream negotiation: the host opens the stream with
// multistream-select and hands it to Read or Serve, and checks that the
// record's public key belongs to the peer the connection authenticated.
package identify
