package identify_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/yamuxgo/yamux/identify"
	"github.com/yamuxgo/yamux/peer"
)

func testRecord(t testing.TB) *identify.Record {
	t.Helper()
	k, err := peer.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &identify.Record{
		ProtocolVersion: "ipfs/0.1.0",
		AgentVersion:    "yamuxgo/test",
		PublicKey:       k.Public(),
		ListenAddrs:     []multiaddr.Multiaddr{multiaddr.StringCast("/ip4/127.0.0.1/tcp/4001"), multiaddr.StringCast("/ip6/::1/tcp/4001")},
		ObservedAddr:    multiaddr.StringCast("/ip4/127.0.0.1/tcp/51234"),
		Protocols:       []string{identify.ID, "/ipfs/ping/1.0.0", "/echo/1.0.0"},
	}
}

func equalRecords(t testing.TB, got, want *identify.Record) {
	t.Helper()
	if got.ProtocolVersion != want.ProtocolVersion || got.AgentVersion != want.AgentVersion {
		t.Errorf("versions = %q/%q, want %q/%q", got.ProtocolVersion, got.AgentVersion, want.ProtocolVersion, want.AgentVersion)
	}
	if (got.PublicKey == nil) != (want.PublicKey == nil) || got.PublicKey != nil && !got.PublicKey.Equal(want.PublicKey) {
		t.Errorf("public key differs")
	}
	if !slices.EqualFunc(got.ListenAddrs, want.ListenAddrs, func(a, b multiaddr.Multiaddr) bool { return a.Equal(b) }) {
		t.Errorf("listen addrs = %v, want %v", got.ListenAddrs, want.ListenAddrs)
	}
	if (got.ObservedAddr == nil) != (want.ObservedAddr == nil) || got.ObservedAddr != nil && !got.ObservedAddr.Equal(want.ObservedAddr) {
		t.Errorf("observed = %v, want %v", got.ObservedAddr, want.ObservedAddr)
	}
	if !slices.Equal(got.Protocols, want.Protocols) {
		t.Errorf("protocols = %q, want %q", got.Protocols, want.Protocols)
	}
}

func TestRoundTrip(t *testing.T) {
	want := testRecord(t)
	b, err := want.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := identify.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	equalRecords(t, got, want)
	if !got.HasProtocol("/echo/1.0.0") || got.HasProtocol("/nope") {
		t.Error("HasProtocol")
	}
}

// The field numbers on the wire are the spec's: checked against a message
// built by hand, with a signedPeerRecord and an unknown field skipped and
// an unparsable listen address dropped.
func TestUnmarshalHandBuilt(t *testing.T) {
	var b []byte
	b = protowire.AppendTag(b, 5, protowire.BytesType)
	b = protowire.AppendString(b, "ipfs/0.1.0")
	b = protowire.AppendTag(b, 6, protowire.BytesType)
	b = protowire.AppendString(b, "go-libp2p/0.52.0")
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendBytes(b, multiaddr.StringCast("/ip4/127.0.0.1/tcp/1").Bytes())
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendBytes(b, []byte{0xff, 0xff, 0x03}) // not a multiaddr
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendString(b, "/ipfs/ping/1.0.0")
	b = protowire.AppendTag(b, 8, protowire.BytesType)
	b = protowire.AppendBytes(b, []byte("an envelope we do not verify"))
	b = protowire.AppendTag(b, 99, protowire.VarintType)
	b = protowire.AppendVarint(b, 7)
	r, err := identify.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if r.AgentVersion != "go-libp2p/0.52.0" || r.ProtocolVersion != "ipfs/0.1.0" || len(r.ListenAddrs) != 1 || !slices.Equal(r.Protocols, []string{"/ipfs/ping/1.0.0"}) {
		t.Fatalf("decoded %+v", r)
	}
}

func TestUnmarshalErrors(t *testing.T) {
	wrongType := protowire.AppendTag(nil, 3, protowire.VarintType)
	wrongType = protowire.AppendVarint(wrongType, 1)
	truncated := protowire.AppendTag(nil, 6, protowire.BytesType)
	truncated = append(truncated, 10, 'a')
	badKey := protowire.AppendTag(nil, 1, protowire.BytesType)
	badKey = protowire.AppendBytes(badKey, []byte{1, 2, 3})
	var many []byte
	for range identify.MaxProtocols + 1 {
		many = protowire.AppendTag(many, 3, protowire.BytesType)
		many = protowire.AppendString(many, "/p")
	}
	for name, tc := range map[string]struct {
		in   []byte
		want error
	}{
		"wrong wire type": {wrongType, identify.ErrMalformed},
		"truncated":       {truncated, identify.ErrMalformed},
		"bad tag":         {[]byte{0x80}, identify.ErrMalformed},
		"bad public key":  {badKey, identify.ErrMalformed},
		"too many":        {many, identify.ErrMalformed},
		"too large":       {make([]byte, identify.MaxMessageSize+1), identify.ErrTooLarge},
	} {
		if _, err := identify.Unmarshal(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
}

func delimited(msgs ...[]byte) []byte {
	var b []byte
	for _, m := range msgs {
		b = binary.AppendUvarint(b, uint64(len(m)))
		b = append(b, m...)
	}
	return b
}

// Read merges several delimited messages (go-libp2p may split a record)
// and stops at EOF.
func TestReadMergesMessages(t *testing.T) {
	rec := testRecord(t)
	first := *rec
	first.Protocols = rec.Protocols[:1]
	second := identify.Record{Protocols: rec.Protocols[1:]}
	b1, _ := first.Marshal()
	b2, _ := second.Marshal()
	got, err := identify.Read(bytes.NewReader(delimited(b1, b2)))
	if err != nil {
		t.Fatal(err)
	}
	equalRecords(t, got, rec)
}

func TestReadWrite(t *testing.T) {
	rec := testRecord(t)
	var buf bytes.Buffer
	if err := identify.Write(&buf, rec); err != nil {
		t.Fatal(err)
	}
	got, err := identify.Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	equalRecords(t, got, rec)
}

func TestReadLimits(t *testing.T) {
	small, _ := (&identify.Record{AgentVersion: "x"}).Marshal()
	msgs := make([][]byte, identify.MaxMessages+1)
	for i := range msgs {
		msgs[i] = small
	}
	for name, tc := range map[string]struct {
		in   []byte
		want error
	}{
		"empty stream":       {nil, io.ErrUnexpectedEOF},
		"too many messages":  {delimited(msgs...), identify.ErrTooLarge},
		"announced too much": {binary.AppendUvarint(nil, identify.MaxMessageSize+1), identify.ErrTooLarge},
		"truncated message":  {append(binary.AppendUvarint(nil, 10), 1, 2), io.ErrUnexpectedEOF},
		"truncated prefix":   {append(delimited(small), 0x80), io.ErrUnexpectedEOF},
	} {
		if _, err := identify.Read(bytes.NewReader(tc.in)); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
	if _, err := identify.Read(bytes.NewReader(delimited(msgs[:identify.MaxMessages]...))); err != nil {
		t.Errorf("MaxMessages messages: %v", err)
	}
}

func TestMarshalTooLarge(t *testing.T) {
	r := &identify.Record{AgentVersion: string(make([]byte, identify.MaxMessageSize))}
	if _, err := r.Marshal(); !errors.Is(err, identify.ErrTooLarge) {
		t.Fatalf("err = %v", err)
	}
}
