package identify_test

import (
	"errors"
	"testing"

	"github.com/multiformats/go-multiaddr"

	"github.com/yamuxgo/yamux/identify"
)

// FuzzUnmarshal: any bytes decode to a record within the limits or fail
// with a typed error; a decoded record re-encodes and decodes to the same
// protocols and versions.
func FuzzUnmarshal(f *testing.F) {
	seed, _ := (&identify.Record{
		ProtocolVersion: "ipfs/0.1.0",
		AgentVersion:    "go-libp2p/0.52.0",
		ListenAddrs:     []multiaddr.Multiaddr{multiaddr.StringCast("/ip4/127.0.0.1/tcp/4001")},
		Protocols:       []string{identify.ID, "/ipfs/ping/1.0.0"},
	}).Marshal()
	f.Add(seed)
	f.Add([]byte{0x0a, 0x24, 0x08, 0x01, 0x12, 0x20})
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := identify.Unmarshal(in)
		if err != nil {
			if !errors.Is(err, identify.ErrMalformed) && !errors.Is(err, identify.ErrTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(r.Protocols) > identify.MaxProtocols || len(r.ListenAddrs) > identify.MaxAddrs {
			t.Fatalf("limits exceeded: %d protocols, %d addrs", len(r.Protocols), len(r.ListenAddrs))
		}
		b, err := r.Marshal()
		if err != nil {
			return // re-encoding can grow past the cap (canonical key form)
		}
		r2, err := identify.Unmarshal(b)
		if err != nil {
			t.Fatalf("our own encoding does not decode: %v", err)
		}
		if r2.AgentVersion != r.AgentVersion || r2.ProtocolVersion != r.ProtocolVersion || len(r2.Protocols) != len(r.Protocols) || len(r2.ListenAddrs) != len(r.ListenAddrs) {
			t.Fatalf("round trip changed the record: %+v vs %+v", r2, r)
		}
	})
}
