package peer

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// KeyType is the libp2p KeyType enum of the PublicKey and PrivateKey
// protobufs (libp2p peer-ids spec).
type KeyType int32

// The libp2p key types.
const (
	KeyTypeRSA       KeyType = 0
	KeyTypeEd25519   KeyType = 1
	KeyTypeSecp256k1 KeyType = 2
	KeyTypeECDSA     KeyType = 3
)

// String returns the libp2p name of the key type.
func (t KeyType) String() string {
	switch t {
	case KeyTypeRSA:
		return "RSA"
	case KeyTypeEd25519:
		return "Ed25519"
	case KeyTypeSecp256k1:
		return "Secp256k1"
	case KeyTypeECDSA:
		return "ECDSA"
	}
	return fmt.Sprintf("KeyType(%d)", int32(t))
}

// Field numbers of the key messages, both
//
//	message PublicKey  { required KeyType Type = 1; required bytes Data = 2; }
//	message PrivateKey { required KeyType Type = 1; required bytes Data = 2; }
const (
	keyFieldType protowire.Number = 1
	keyFieldData protowire.Number = 2
)

// appendKeyMessage appends the canonical encoding: Type, then Data, both
// always present (proto2 required fields), which is what go-libp2p emits and
// what peer IDs are computed over.
func appendKeyMessage(b []byte, t KeyType, data []byte) []byte {
	b = protowire.AppendTag(b, keyFieldType, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(t))
	b = protowire.AppendTag(b, keyFieldData, protowire.BytesType)
	return protowire.AppendBytes(b, data)
}

// decodeKeyMessage parses a PublicKey or PrivateKey message. Unknown fields
// are skipped and a repeated field keeps its last value, as protobuf
// decoders do; both required fields must be present. The returned data
// aliases b.
func decodeKeyMessage(b []byte) (KeyType, []byte, error) {
	var (
		t                KeyType
		data             []byte
		haveType, haveDt bool
	)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0, nil, fmt.Errorf("%w: %v", ErrMalformedKey, protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == keyFieldType && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return 0, nil, fmt.Errorf("%w: Type: %v", ErrMalformedKey, protowire.ParseError(n))
			}
			// An enum is an int32 on the wire, sign-extended to 64 bits.
			if int64(v) < math.MinInt32 || int64(v) > math.MaxInt32 {
				return 0, nil, fmt.Errorf("%w: Type %d out of range", ErrMalformedKey, int64(v))
			}
			t, haveType = KeyType(int64(v)), true
			b = b[n:]
		case num == keyFieldData && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return 0, nil, fmt.Errorf("%w: Data: %v", ErrMalformedKey, protowire.ParseError(n))
			}
			data, haveDt = v, true
			b = b[n:]
		case num == keyFieldType || num == keyFieldData:
			return 0, nil, fmt.Errorf("%w: field %d has wire type %d", ErrMalformedKey, num, typ)
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return 0, nil, fmt.Errorf("%w: field %d: %v", ErrMalformedKey, num, protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	if !haveType || !haveDt {
		return 0, nil, fmt.Errorf("%w: missing Type or Data", ErrMalformedKey)
	}
	return t, data, nil
}
