package noise

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// The libp2p handshake payload (libp2p noise spec, proto2):
//
//	message NoiseExtensions {
//	    repeated bytes webtransport_certhashes = 1;
//	    repeated string stream_muxers = 2;
//	}
//	message NoiseHandshakePayload {
//	    optional bytes identity_key = 1;
//	    optional bytes identity_sig = 2;
//	    optional NoiseExtensions extensions = 4;
//	}
const (
	fieldIdentityKey protowire.Number = 1
	fieldIdentitySig protowire.Number = 2
	fieldExtensions  protowire.Number = 4

	fieldCertHashes   protowire.Number = 1
	fieldStreamMuxers protowire.Number = 2
)

// handshakePayload is a decoded NoiseHandshakePayload. Byte slices alias the
// decoded message.
type handshakePayload struct {
	identityKey []byte
	identitySig []byte
	// hasExtensions records whether the extensions field was present, so
	// that "no list" and "an empty list" stay distinguishable in tests.
	hasExtensions bool
	certHashes    [][]byte
	streamMuxers  []string
}

// appendPayload appends the encoding of p. Extensions are written only when
// p carries some.
func appendPayload(b []byte, p *handshakePayload) []byte {
	b = protowire.AppendTag(b, fieldIdentityKey, protowire.BytesType)
	b = protowire.AppendBytes(b, p.identityKey)
	b = protowire.AppendTag(b, fieldIdentitySig, protowire.BytesType)
	b = protowire.AppendBytes(b, p.identitySig)
	if len(p.certHashes) == 0 && len(p.streamMuxers) == 0 {
		return b
	}
	var ext []byte
	for _, h := range p.certHashes {
		ext = protowire.AppendTag(ext, fieldCertHashes, protowire.BytesType)
		ext = protowire.AppendBytes(ext, h)
	}
	for _, m := range p.streamMuxers {
		ext = protowire.AppendTag(ext, fieldStreamMuxers, protowire.BytesType)
		ext = protowire.AppendString(ext, m)
	}
	b = protowire.AppendTag(b, fieldExtensions, protowire.BytesType)
	return protowire.AppendBytes(b, ext)
}

// decodePayload parses a NoiseHandshakePayload. As protobuf decoders do, it
// skips unknown fields, keeps the last value of a repeated singular field
// and merges repeated extensions messages. Its input is one handshake
// message, so its size is already bounded by MaxHandshakeMessageSize.
func decodePayload(b []byte) (handshakePayload, error) {
	var p handshakePayload
	err := forEachField(b, func(num protowire.Number, v []byte) error {
		switch num {
		case fieldIdentityKey:
			p.identityKey = v
		case fieldIdentitySig:
			p.identitySig = v
		case fieldExtensions:
			p.hasExtensions = true
			return decodeExtensions(&p, v)
		}
		return nil
	})
	return p, err
}

func decodeExtensions(p *handshakePayload, b []byte) error {
	return forEachField(b, func(num protowire.Number, v []byte) error {
		switch num {
		case fieldCertHashes:
			p.certHashes = append(p.certHashes, v)
		case fieldStreamMuxers:
			p.streamMuxers = append(p.streamMuxers, string(v))
		}
		return nil
	})
}

// forEachField calls f with every length-delimited field of message b. All
// fields of these messages are length-delimited; any other wire type is an
// unknown field to skip, as protobuf decoders treat a mismatched wire type.
func forEachField(b []byte, f func(protowire.Number, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: %v", ErrInvalidPayload, protowire.ParseError(n))
		}
		b = b[n:]
		if typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return fmt.Errorf("%w: field %d: %v", ErrInvalidPayload, num, protowire.ParseError(n))
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return fmt.Errorf("%w: field %d: %v", ErrInvalidPayload, num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := f(num, v); err != nil {
			return err
		}
	}
	return nil
}
