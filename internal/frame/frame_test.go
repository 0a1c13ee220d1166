package frame

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

// validFrames encodes one frame of every valid kind: DATA with a body, a
// WINDOW_UPDATE with each flag, PING request and reply, GO_AWAY with the
// spec's codes and a libp2p one. The fuzz targets are seeded from it.
func validFrames() [][]byte {
	var out [][]byte
	add := func(h Header, body string) {
		out = append(out, append(h[:], body...))
	}
	add(New(TypeData, 0, 3, 5), "hello")
	add(New(TypeData, FlagSYN, 1, 3), "abc")
	add(New(TypeData, FlagACK|FlagFIN, 2, 1), "x")
	add(New(TypeData, 0, 5, 0), "")
	add(New(TypeWindowUpdate, FlagSYN, 1, 0), "")
	add(New(TypeWindowUpdate, FlagACK, 2, 0), "")
	add(New(TypeWindowUpdate, FlagFIN, 3, 0), "")
	add(New(TypeWindowUpdate, FlagRST, 4, 0x1005), "")
	add(New(TypeWindowUpdate, 0, 7, 1<<20), "")
	add(New(TypePing, FlagSYN, 0, 7), "")
	add(New(TypePing, FlagACK, 0, 7), "")
	for _, code := range []uint32{0, 1, 2, 0x1005} {
		add(New(TypeGoAway, 0, 0, code), "")
	}
	return out
}

func TestTypeString(t *testing.T) {
	tests := []struct {
		t    Type
		want string
	}{
		{TypeData, "DATA"},
		{TypeWindowUpdate, "WINDOW_UPDATE"},
		{TypePing, "PING"},
		{TypeGoAway, "GO_AWAY"},
		{4, "TYPE(4)"},
		{255, "TYPE(255)"},
	}
	for _, tt := range tests {
		if got := tt.t.String(); got != tt.want {
			t.Errorf("Type(%d).String() = %q, want %q", uint8(tt.t), got, tt.want)
		}
	}
}

func TestFlagsString(t *testing.T) {
	tests := []struct {
		f    Flags
		want string
	}{
		{0, "0"},
		{FlagSYN, "SYN"},
		{FlagACK, "ACK"},
		{FlagFIN, "FIN"},
		{FlagRST, "RST"},
		{FlagSYN | FlagACK, "SYN|ACK"},
		{FlagSYN | FlagACK | FlagFIN | FlagRST, "SYN|ACK|FIN|RST"},
		{0x10, "0x10"},
		{FlagFIN | 0x8030, "FIN|0x8030"},
		{0xFFFF, "SYN|ACK|FIN|RST|0xfff0"},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("Flags(0x%x).String() = %q, want %q", uint16(tt.f), got, tt.want)
		}
	}
}

func TestFlagsHas(t *testing.T) {
	tests := []struct {
		f, f2 Flags
		want  bool
	}{
		{0, 0, true},
		{FlagSYN, 0, true},
		{FlagSYN, FlagSYN, true},
		{FlagSYN, FlagACK, false},
		{FlagSYN | FlagACK, FlagACK, true},
		{FlagSYN, FlagSYN | FlagACK, false},
		{FlagSYN | FlagACK | FlagFIN, FlagSYN | FlagFIN, true},
		{0xFFFF, FlagRST, true},
		{0, FlagRST, false},
	}
	for _, tt := range tests {
		if got := tt.f.Has(tt.f2); got != tt.want {
			t.Errorf("Flags(%v).Has(%v) = %v, want %v", tt.f, tt.f2, got, tt.want)
		}
	}
}

func TestNewAccessors(t *testing.T) {
	tests := []struct {
		typ    Type
		flags  Flags
		id     uint32
		length uint32
	}{
		{TypeData, 0, 1, 0},
		{TypeData, FlagSYN | FlagFIN, 0xFFFFFFFF, 0xFFFFFFFF},
		{TypeWindowUpdate, FlagRST, 0x01020304, 0x05060708},
		{TypePing, FlagACK, 0, 0xDEADBEEF},
		{TypeGoAway, 0, 0, 0x1005},
		{TypeWindowUpdate, 0xFFFF, 2, 1 << 31},
	}
	for _, tt := range tests {
		h := New(tt.typ, tt.flags, tt.id, tt.length)
		if got := h.Version(); got != Version {
			t.Errorf("New(%v, %v, %d, %d).Version() = %d, want %d", tt.typ, tt.flags, tt.id, tt.length, got, Version)
		}
		if got := h.Type(); got != tt.typ {
			t.Errorf("New(%v, ...).Type() = %v, want %v", tt.typ, got, tt.typ)
		}
		if got := h.Flags(); got != tt.flags {
			t.Errorf("New(_, %v, ...).Flags() = %v, want %v", tt.flags, got, tt.flags)
		}
		if got := h.StreamID(); got != tt.id {
			t.Errorf("New(_, _, %d, _).StreamID() = %d, want %d", tt.id, got, tt.id)
		}
		if got := h.Length(); got != tt.length {
			t.Errorf("New(_, _, _, %d).Length() = %d, want %d", tt.length, got, tt.length)
		}
		if err := h.Validate(); err != nil {
			t.Errorf("New(%v, %v, %d, %d).Validate() = %v, want nil", tt.typ, tt.flags, tt.id, tt.length, err)
		}
	}
}

// TestNewSpecEncodings checks the byte-exact examples of spec.md §2.5.
func TestNewSpecEncodings(t *testing.T) {
	tests := []struct {
		name string
		h    Header
		want string
	}{
		{"WINDOW_UPDATE SYN stream 1", New(TypeWindowUpdate, FlagSYN, 1, 0), "000100010000000100000000"},
		{"WINDOW_UPDATE FIN stream 2", New(TypeWindowUpdate, FlagFIN, 2, 0), "000100040000000200000000"},
		{"DATA stream 3 len 5", New(TypeData, 0, 3, 5), "000000000000000300000005"},
		{"PING request 7", New(TypePing, FlagSYN, 0, 7), "000200010000000000000007"},
		{"PING reply 7", New(TypePing, FlagACK, 0, 7), "000200020000000000000007"},
		{"GO_AWAY protocol error", New(TypeGoAway, 0, 0, 1), "000300000000000000000001"},
	}
	for _, tt := range tests {
		if got := hex.EncodeToString(tt.h[:]); got != tt.want {
			t.Errorf("%s: encoding = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestHeaderString(t *testing.T) {
	tests := []struct {
		h    Header
		want string
	}{
		{New(TypeWindowUpdate, FlagSYN, 1, 0), "WINDOW_UPDATE[SYN] stream=1 len=0"},
		{New(TypeData, 0, 3, 5), "DATA[0] stream=3 len=5"},
		{New(TypeGoAway, 0, 0, 0x1005), "GO_AWAY[0] stream=0 len=4101"},
		{New(TypePing, FlagACK|0x40, 0, 7), "PING[ACK|0x40] stream=0 len=7"},
		{New(9, 0, 0, 0), "TYPE(9)[0] stream=0 len=0"},
	}
	for _, tt := range tests {
		if got := tt.h.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestParseShort(t *testing.T) {
	full := New(TypePing, FlagSYN, 0, 1)
	for n := 0; n < HeaderSize; n++ {
		_, err := Parse(full[:n])
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("Parse(%d bytes) error = %v, want io.ErrUnexpectedEOF", n, err)
		}
	}
}

func TestParseValid(t *testing.T) {
	for _, b := range validFrames() {
		h, err := Parse(b)
		if err != nil {
			t.Errorf("Parse(%x) error = %v, want nil", b, err)
			continue
		}
		if !bytes.Equal(h[:], b[:HeaderSize]) {
			t.Errorf("Parse(%x) = %x, want the first %d bytes", b, h[:], HeaderSize)
		}
	}
	// Extra bytes after the header are ignored.
	b := append(hdr(New(TypePing, FlagSYN, 0, 9)), 0xFF, 0xFF)
	h, err := Parse(b)
	if err != nil || h != New(TypePing, FlagSYN, 0, 9) {
		t.Errorf("Parse(header+2 bytes) = %v, %v; want %v, nil", h, err, New(TypePing, FlagSYN, 0, 9))
	}
}

func TestParseBadVersion(t *testing.T) {
	for v := 1; v <= 255; v++ {
		b := New(TypeData, 0, 1, 0)
		b[0] = byte(v)
		h, err := Parse(b[:])
		if !errors.Is(err, ErrInvalidVersion) {
			t.Errorf("Parse(version %d) error = %v, want ErrInvalidVersion", v, err)
		}
		if errors.Is(err, ErrInvalidType) {
			t.Errorf("Parse(version %d) error = %v, want no ErrInvalidType", v, err)
		}
		if got := h.Version(); got != uint8(v) {
			t.Errorf("Parse(version %d).Version() = %d, want %d", v, got, v)
		}
	}
	// Version is checked before type (spec.md §2.4).
	b := New(TypeData, 0, 1, 0)
	b[0], b[1] = 1, 200
	if _, err := Parse(b[:]); !errors.Is(err, ErrInvalidVersion) {
		t.Errorf("Parse(version 1, type 200) error = %v, want ErrInvalidVersion", err)
	}
}

func TestParseBadType(t *testing.T) {
	for typ := 4; typ <= 255; typ++ {
		b := New(Type(typ), 0, 0, 0)
		h, err := Parse(b[:])
		if !errors.Is(err, ErrInvalidType) {
			t.Errorf("Parse(type %d) error = %v, want ErrInvalidType", typ, err)
		}
		if errors.Is(err, ErrInvalidVersion) {
			t.Errorf("Parse(type %d) error = %v, want no ErrInvalidVersion", typ, err)
		}
		if got := h.Type(); got != Type(typ) {
			t.Errorf("Parse(type %d).Type() = %v, want %d", typ, got, typ)
		}
	}
}

func concat(frames ...[]byte) []byte {
	var b []byte
	for _, f := range frames {
		b = append(b, f...)
	}
	return b
}

func hdr(h Header) []byte { return h[:] }

func TestReaderEOFAtBoundary(t *testing.T) {
	fr := NewReader(bytes.NewReader(nil), 1<<20)
	if _, err := fr.ReadHeader(); err != io.EOF {
		t.Fatalf("ReadHeader on empty input: error = %v, want io.EOF", err)
	}

	a, b := New(TypePing, FlagSYN, 0, 1), New(TypeWindowUpdate, FlagFIN, 3, 0)
	fr = NewReader(bytes.NewReader(concat(a[:], b[:])), 1<<20)
	for i, want := range []Header{a, b} {
		got, err := fr.ReadHeader()
		if err != nil || got != want {
			t.Fatalf("ReadHeader #%d = %v, %v; want %v, nil", i, got, err, want)
		}
	}
	if _, err := fr.ReadHeader(); err != io.EOF {
		t.Fatalf("ReadHeader after last frame: error = %v, want io.EOF", err)
	}
}

func TestReaderUnexpectedEOF(t *testing.T) {
	full := New(TypeWindowUpdate, FlagACK, 2, 0)
	for n := 1; n < HeaderSize; n++ {
		// A complete frame, then n bytes of the next one.
		input := concat(hdr(New(TypePing, FlagACK, 0, 3)), full[:n])
		fr := NewReader(bytes.NewReader(input), 1<<20)
		if _, err := fr.ReadHeader(); err != nil {
			t.Fatalf("n=%d: first ReadHeader error = %v, want nil", n, err)
		}
		_, err := fr.ReadHeader()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("ReadHeader with %d of %d header bytes: error = %v, want io.ErrUnexpectedEOF", n, HeaderSize, err)
		}
	}
}

// oneByteReader returns at most one byte per Read, so headers arrive split.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

func TestReaderSplitReads(t *testing.T) {
	frames := validFrames()
	fr := NewReader(oneByteReader{bytes.NewReader(concat(frames...))}, 1<<20)
	for i, want := range frames {
		got, err := fr.ReadHeader()
		if err != nil {
			t.Fatalf("frame %d: ReadHeader error = %v, want nil", i, err)
		}
		if !bytes.Equal(got[:], want[:HeaderSize]) {
			t.Fatalf("frame %d: ReadHeader = %v, want %x", i, got, want[:HeaderSize])
		}
		if got.Type() == TypeData {
			if _, err := io.CopyN(io.Discard, fr.r, int64(got.Length())); err != nil {
				t.Fatalf("frame %d: reading %d body bytes: %v", i, got.Length(), err)
			}
		}
	}
	if _, err := fr.ReadHeader(); err != io.EOF {
		t.Fatalf("ReadHeader at end: error = %v, want io.EOF", err)
	}
}

func TestReaderInvalidHeader(t *testing.T) {
	badVersion := New(TypeData, 0, 1, 0)
	badVersion[0] = 1
	badType := New(TypeData, 0, 1, 0)
	badType[1] = 4
	tests := []struct {
		name string
		h    Header
		want error
	}{
		{"version 1", badVersion, ErrInvalidVersion},
		{"type 4", badType, ErrInvalidType},
	}
	for _, tt := range tests {
		fr := NewReader(bytes.NewReader(tt.h[:]), 1<<20)
		got, err := fr.ReadHeader()
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: ReadHeader error = %v, want %v", tt.name, err, tt.want)
		}
		if got != tt.h {
			t.Errorf("%s: ReadHeader header = %x, want %x (returned for diagnostics)", tt.name, got[:], tt.h[:])
		}
	}
}

func TestReaderFrameTooLarge(t *testing.T) {
	const maxLen = 1000
	tests := []struct {
		length  uint32
		wantErr bool
	}{
		{0, false},
		{maxLen - 1, false},
		{maxLen, false},
		{maxLen + 1, true},
		{0xFFFFFFFF, true},
	}
	for _, tt := range tests {
		body := strings.Repeat("z", 37) // less than length: the reader must not try to read it
		src := bytes.NewReader(concat(hdr(New(TypeData, 0, 1, tt.length)), []byte(body)))
		fr := NewReader(src, maxLen)
		h, err := fr.ReadHeader()
		if tt.wantErr {
			if !errors.Is(err, ErrFrameTooLarge) {
				t.Errorf("DATA length %d, max %d: error = %v, want ErrFrameTooLarge", tt.length, maxLen, err)
			}
		} else if err != nil {
			t.Errorf("DATA length %d, max %d: error = %v, want nil", tt.length, maxLen, err)
		}
		if got := h.Length(); got != tt.length {
			t.Errorf("DATA length %d: header.Length() = %d, want %d", tt.length, got, tt.length)
		}
		if got := src.Len(); got != len(body) {
			t.Errorf("DATA length %d: %d bytes left after ReadHeader, want %d (body untouched)", tt.length, got, len(body))
		}
	}
}

func TestReaderHugeLengthNonData(t *testing.T) {
	// Length is no body size for these types (spec.md §2.2): a tiny
	// maxPayload must not reject them, and no bytes may be consumed past
	// the header.
	frames := []Header{
		New(TypeWindowUpdate, 0, 1, 0xFFFFFFFF),
		New(TypeWindowUpdate, FlagRST, 1, 0xFFFFFFFF),
		New(TypePing, FlagSYN, 0, 0xFFFFFFFF),
		New(TypePing, FlagACK, 0, 0xFFFFFFFF),
		New(TypeGoAway, 0, 0, 0xFFFFFFFF),
	}
	var input []byte
	for _, h := range frames {
		input = append(input, h[:]...)
	}
	fr := NewReader(bytes.NewReader(input), 1)
	for i, want := range frames {
		got, err := fr.ReadHeader()
		if err != nil || got != want {
			t.Fatalf("frame %d: ReadHeader = %v, %v; want %v, nil", i, got, err, want)
		}
	}
	if _, err := fr.ReadHeader(); err != io.EOF {
		t.Fatalf("ReadHeader at end: error = %v, want io.EOF", err)
	}
}

func TestReaderPropagatesReadError(t *testing.T) {
	boom := errors.New("boom")
	fr := NewReader(io.MultiReader(bytes.NewReader([]byte{0, 1, 0}), errReader{boom}), 1<<20)
	if _, err := fr.ReadHeader(); !errors.Is(err, boom) {
		t.Fatalf("ReadHeader error = %v, want the underlying read error", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func FuzzParseHeader(f *testing.F) {
	for _, b := range validFrames() {
		f.Add(b)
	}
	bad := New(TypeData, 0, 1, 0)
	bad[0] = 1
	f.Add(bad[:])
	bad = New(TypeData, 0, 1, 0)
	bad[1] = 4
	f.Add(bad[:])
	f.Add([]byte{0, 0, 0})

	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := Parse(data)
		if len(data) < HeaderSize {
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("Parse(%d bytes) error = %v, want io.ErrUnexpectedEOF", len(data), err)
			}
			return
		}
		valid := data[0] == Version && data[1] <= byte(TypeGoAway)
		switch {
		case valid && err != nil:
			t.Fatalf("Parse(%x) error = %v, want nil", data[:HeaderSize], err)
		case !valid && err == nil:
			t.Fatalf("Parse(%x) error = nil, want ErrInvalidVersion or ErrInvalidType", data[:HeaderSize])
		case !valid && !errors.Is(err, ErrInvalidVersion) && !errors.Is(err, ErrInvalidType):
			t.Fatalf("Parse(%x) error = %v, want ErrInvalidVersion or ErrInvalidType", data[:HeaderSize], err)
		}
		if !bytes.Equal(h[:], data[:HeaderSize]) {
			t.Fatalf("Parse(%x) = %x, want the input bytes", data[:HeaderSize], h[:])
		}
		if err != nil {
			return
		}
		if re := New(h.Type(), h.Flags(), h.StreamID(), h.Length()); !bytes.Equal(re[:], data[:HeaderSize]) {
			t.Fatalf("New(accessors of %x) = %x, want identity", data[:HeaderSize], re[:])
		}
		_ = h.String()
	})
}

func FuzzReader(f *testing.F) {
	frames := validFrames()
	for _, b := range frames {
		f.Add(b)
	}
	f.Add(concat(frames...))
	f.Add(concat(hdr(New(TypeData, 0, 1, 1<<20+1)), []byte("x")))
	f.Add(concat(frames[0], frames[1][:7]))

	const maxPayload = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		src := bytes.NewReader(data)
		fr := NewReader(src, maxPayload)
		// Each successful iteration consumes at least a header, so the
		// loop ends; the bound makes a regression fail instead of hang.
		for i := 0; ; i++ {
			if i > len(data)/HeaderSize {
				t.Fatalf("read %d headers from %d bytes, want at most %d", i, len(data), len(data)/HeaderSize)
			}
			before := src.Len()
			h, err := fr.ReadHeader()
			if err != nil {
				switch {
				case err == io.EOF:
					if before != 0 {
						t.Fatalf("io.EOF with %d bytes left, want io.ErrUnexpectedEOF", before)
					}
				case errors.Is(err, io.ErrUnexpectedEOF):
					if before == 0 || before >= HeaderSize {
						t.Fatalf("io.ErrUnexpectedEOF with %d bytes left, want 1..%d", before, HeaderSize-1)
					}
				case errors.Is(err, ErrInvalidVersion), errors.Is(err, ErrInvalidType):
				case errors.Is(err, ErrFrameTooLarge):
					if h.Type() != TypeData || h.Length() <= maxPayload {
						t.Fatalf("ErrFrameTooLarge for %v, want only DATA longer than %d", h, maxPayload)
					}
				default:
					t.Fatalf("ReadHeader error = %v, want EOF, ErrUnexpectedEOF or a frame error", err)
				}
				return
			}
			if consumed := before - src.Len(); consumed != HeaderSize {
				t.Fatalf("ReadHeader consumed %d bytes, want %d", consumed, HeaderSize)
			}
			if h.Type() == TypeData {
				if h.Length() > maxPayload {
					t.Fatalf("ReadHeader accepted %v, want ErrFrameTooLarge above %d", h, maxPayload)
				}
				if _, err := io.CopyN(io.Discard, src, int64(h.Length())); err != nil {
					return // body cut short: the stream ends here
				}
			}
		}
	})
}
