package noise

import (
	"errors"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func TestPayloadRoundTrip(t *testing.T) {
	in := handshakePayload{
		identityKey:  []byte{1, 2, 3},
		identitySig:  []byte{4, 5},
		certHashes:   [][]byte{{9}},
		streamMuxers: []string{"/yamux/1.0.0", "/mplex/6.7.0"},
	}
	out, err := decodePayload(appendPayload(nil, &in))
	if err != nil {
		t.Fatal(err)
	}
	if string(out.identityKey) != "\x01\x02\x03" || string(out.identitySig) != "\x04\x05" ||
		!out.hasExtensions || !slices.Equal(out.streamMuxers, in.streamMuxers) || len(out.certHashes) != 1 {
		t.Errorf("round trip: %+v", out)
	}
	// Without extensions none is written, and "no list" stays "no list".
	bare, err := decodePayload(appendPayload(nil, &handshakePayload{identityKey: []byte{1}, identitySig: []byte{2}}))
	if err != nil || bare.hasExtensions || bare.streamMuxers != nil {
		t.Errorf("bare payload: %+v, %v", bare, err)
	}
}

func TestDecodePayloadProtobufRules(t *testing.T) {
	// Unknown fields of any wire type are skipped, the last identity_key
	// wins, and two extensions messages merge.
	var b []byte
	b = protowire.AppendTag(b, 9, protowire.VarintType)
	b = protowire.AppendVarint(b, 300)
	b = protowire.AppendTag(b, fieldIdentityKey, protowire.BytesType)
	b = protowire.AppendBytes(b, []byte("old"))
	b = protowire.AppendTag(b, fieldIdentityKey, protowire.BytesType)
	b = protowire.AppendBytes(b, []byte("new"))
	b = protowire.AppendTag(b, 3, protowire.Fixed32Type)
	b = protowire.AppendFixed32(b, 7)
	for _, m := range []string{"/a", "/b"} {
		var ext []byte
		ext = protowire.AppendTag(ext, fieldStreamMuxers, protowire.BytesType)
		ext = protowire.AppendString(ext, m)
		b = protowire.AppendTag(b, fieldExtensions, protowire.BytesType)
		b = protowire.AppendBytes(b, ext)
	}
	p, err := decodePayload(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(p.identityKey) != "new" || !slices.Equal(p.streamMuxers, []string{"/a", "/b"}) {
		t.Errorf("got %+v", p)
	}
	for name, bad := range map[string][]byte{
		"truncated tag":        {0x80},
		"truncated bytes":      {0x0a, 0x05, 1},
		"bad extensions":       {0x22, 0x02, 0x12, 0x05},
		"field zero":           {0x02, 0x00},
		"truncated group skip": {0x0b},
	} {
		if _, err := decodePayload(bad); !errors.Is(err, ErrInvalidPayload) {
			t.Errorf("%s: %v, want ErrInvalidPayload", name, err)
		}
	}
}
