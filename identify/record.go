package identify

import (
	"errors"
	"fmt"

	"github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/yamuxgo/yamux/peer"
)

// ID is the protocol ID of identify.
const ID = "/ipfs/id/1.0.0"

// Limits on what a peer may send (docs/libp2p-decisions.md).
const (
	// MaxMessageSize bounds one delimited Identify message (go-libp2p's
	// and js-libp2p's limit for records with a signed peer record).
	MaxMessageSize = 8 << 10
	// MaxMessages bounds how many delimited messages one identify stream
	// may carry before EOF (go-libp2p's limit).
	MaxMessages = 10
	// MaxProtocols bounds the protocols of a record, merged messages
	// included.
	MaxProtocols = 1024
	// MaxAddrs bounds the listen addresses of a record.
	MaxAddrs = 256
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrMalformed: a message that is not a valid Identify protobuf, or
	// exceeds a count limit.
	ErrMalformed = errors.New("identify: malformed message")
	// ErrTooLarge: a message longer than MaxMessageSize, or more than
	// MaxMessages of them.
	ErrTooLarge = errors.New("identify: message too large")
)

// Field numbers of the Identify message (SP identify/README.md).
const (
	fieldPublicKey        protowire.Number = 1
	fieldListenAddrs      protowire.Number = 2
	fieldProtocols        protowire.Number = 3
	fieldObservedAddr     protowire.Number = 4
	fieldProtocolVersion  protowire.Number = 5
	fieldAgentVersion     protowire.Number = 6
	fieldSignedPeerRecord protowire.Number = 8
)

// Record is what a peer says about itself in identify.
type Record struct {
	// ProtocolVersion is the libp2p protocol family, "ipfs/0.1.0" for
	// most nodes.
	ProtocolVersion string
	// AgentVersion names the implementation, e.g. "go-libp2p/0.52.0".
	AgentVersion string
	// PublicKey is the peer's identity key (nil if it sent none).
	PublicKey *peer.PublicKey
	// ListenAddrs are the addresses the peer listens on.
	ListenAddrs []multiaddr.Multiaddr
	// ObservedAddr is the address the peer saw us connect from (nil if
	// none).
	ObservedAddr multiaddr.Multiaddr
	// Protocols are the protocol IDs the peer handles streams for.
	Protocols []string
}

// HasProtocol reports whether the record lists protocol p.
func (r *Record) HasProtocol(p string) bool {
	for _, q := range r.Protocols {
		if q == p {
			return true
		}
	}
	return false
}

// Marshal encodes r as one Identify protobuf, without length prefix. It
// fails with ErrTooLarge if the result does not fit MaxMessageSize.
func (r *Record) Marshal() ([]byte, error) {
	var b []byte
	if r.ProtocolVersion != "" {
		b = protowire.AppendTag(b, fieldProtocolVersion, protowire.BytesType)
		b = protowire.AppendString(b, r.ProtocolVersion)
	}
	if r.AgentVersion != "" {
		b = protowire.AppendTag(b, fieldAgentVersion, protowire.BytesType)
		b = protowire.AppendString(b, r.AgentVersion)
	}
	if r.PublicKey != nil {
		b = protowire.AppendTag(b, fieldPublicKey, protowire.BytesType)
		b = protowire.AppendBytes(b, r.PublicKey.Marshal())
	}
	for _, a := range r.ListenAddrs {
		b = protowire.AppendTag(b, fieldListenAddrs, protowire.BytesType)
		b = protowire.AppendBytes(b, a.Bytes())
	}
	if r.ObservedAddr != nil {
		b = protowire.AppendTag(b, fieldObservedAddr, protowire.BytesType)
		b = protowire.AppendBytes(b, r.ObservedAddr.Bytes())
	}
	for _, p := range r.Protocols {
		b = protowire.AppendTag(b, fieldProtocols, protowire.BytesType)
		b = protowire.AppendString(b, p)
	}
	if len(b) > MaxMessageSize {
		return nil, fmt.Errorf("%w: our record is %d bytes, at most %d", ErrTooLarge, len(b), MaxMessageSize)
	}
	return b, nil
}

// Unmarshal decodes one Identify protobuf.
func Unmarshal(b []byte) (*Record, error) {
	r := new(Record)
	if err := r.merge(b); err != nil {
		return nil, err
	}
	return r, nil
}

// merge decodes b into r: scalars are replaced, repeated fields appended,
// as protobuf merges concatenated messages.
func (r *Record) merge(b []byte) error {
	if len(b) > MaxMessageSize {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(b), MaxMessageSize)
	}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: bad tag: %w", ErrMalformed, protowire.ParseError(n))
		}
		b = b[n:]
		known := num >= fieldPublicKey && num <= fieldAgentVersion
		if !known || num == fieldSignedPeerRecord {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return fmt.Errorf("%w: field %d: %w", ErrMalformed, num, protowire.ParseError(n))
			}
			b = b[n:]
			continue
		}
		if typ != protowire.BytesType {
			return fmt.Errorf("%w: field %d has wire type %d, want bytes", ErrMalformed, num, typ)
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return fmt.Errorf("%w: field %d: %w", ErrMalformed, num, protowire.ParseError(n))
		}
		b = b[n:]
		if err := r.setField(num, v); err != nil {
			return err
		}
	}
	return nil
}

func (r *Record) setField(num protowire.Number, v []byte) error {
	switch num {
	case fieldProtocolVersion:
		r.ProtocolVersion = string(v)
	case fieldAgentVersion:
		r.AgentVersion = string(v)
	case fieldPublicKey:
		k, err := peer.UnmarshalPublicKey(v)
		if err != nil {
			return fmt.Errorf("%w: public key: %w", ErrMalformed, err)
		}
		r.PublicKey = k
	case fieldListenAddrs:
		if len(r.ListenAddrs) >= MaxAddrs {
			return fmt.Errorf("%w: more than %d listen addresses", ErrMalformed, MaxAddrs)
		}
		// A peer may know transports we do not: drop what does not parse.
		if a, err := multiaddr.NewMultiaddrBytes(v); err == nil {
			r.ListenAddrs = append(r.ListenAddrs, a)
		}
	case fieldObservedAddr:
		if a, err := multiaddr.NewMultiaddrBytes(v); err == nil {
			r.ObservedAddr = a
		}
	case fieldProtocols:
		if len(r.Protocols) >= MaxProtocols {
			return fmt.Errorf("%w: more than %d protocols", ErrMalformed, MaxProtocols)
		}
		r.Protocols = append(r.Protocols, string(v))
	}
	return nil
}
