package multistream_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/yamuxgo/yamux/multistream"
)

func TestAppendMessageWire(t *testing.T) {
	got, err := multistream.AppendMessage(nil, "na")
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x03, 'n', 'a', '\n'}; !bytes.Equal(got, want) {
		t.Fatalf("na = % x, want % x", got, want)
	}
	got, _ = multistream.AppendMessage(nil, multistream.ProtocolID)
	if want := append([]byte{0x13}, "/multistream/1.0.0\n"...); !bytes.Equal(got, want) {
		t.Fatalf("header = % x, want % x", got, want)
	}
	// 127 bytes with the newline still fits one varint byte; 128 needs two.
	got, _ = multistream.AppendMessage(nil, strings.Repeat("a", 127))
	if got[0] != 0x80 || got[1] != 0x01 {
		t.Fatalf("128-byte message prefix = % x, want 80 01", got[:2])
	}
}

func TestAppendMessageRejects(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want error
	}{
		{"", multistream.ErrMalformed},
		{"a\nb", multistream.ErrMalformed},
		{strings.Repeat("a", multistream.MaxMessageSize), multistream.ErrTooLarge},
	} {
		if _, err := multistream.AppendMessage(nil, tc.msg); !errors.Is(err, tc.want) {
			t.Errorf("AppendMessage(%.10q) = %v, want %v", tc.msg, err, tc.want)
		}
	}
	if _, err := multistream.AppendMessage(nil, strings.Repeat("a", multistream.MaxMessageSize-1)); err != nil {
		t.Errorf("a message of exactly MaxMessageSize bytes: %v", err)
	}
}

func TestReadMessageRoundTrip(t *testing.T) {
	msgs := []string{"/noise", "na", "/ipfs/id/1.0.0", strings.Repeat("x", 200), strings.Repeat("y", multistream.MaxMessageSize-1)}
	var buf bytes.Buffer
	for _, m := range msgs {
		if err := multistream.WriteMessage(&buf, m); err != nil {
			t.Fatal(err)
		}
	}
	buf.WriteString("application bytes")
	for _, want := range msgs {
		got, err := multistream.ReadMessage(&buf)
		if err != nil || got != want {
			t.Fatalf("ReadMessage = %.20q, %v; want %.20q", got, err, want)
		}
	}
	// ReadMessage never reads ahead: what follows stays in the reader.
	if rest := buf.String(); rest != "application bytes" {
		t.Fatalf("left in the reader: %q", rest)
	}
}

func TestReadMessageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty input", nil, io.EOF},
		{"prefix only", []byte{0x05}, io.ErrUnexpectedEOF},
		{"truncated varint", []byte{0x80}, io.ErrUnexpectedEOF},
		{"truncated body", []byte{0x05, 'a', 'b'}, io.ErrUnexpectedEOF},
		{"zero length", []byte{0x00}, multistream.ErrMalformed},
		{"no newline", []byte{0x03, 'n', 'a', 'x'}, multistream.ErrMalformed},
		{"non-minimal varint", []byte{0x83, 0x00, 'n', 'a', '\n'}, multistream.ErrMalformed},
		{"1025 bytes", []byte{0x81, 0x08}, multistream.ErrTooLarge},
		{"three varint bytes", []byte{0x80, 0x80, 0x01}, multistream.ErrTooLarge},
		{"huge varint", bytes.Repeat([]byte{0xff}, 10), multistream.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := multistream.ReadMessage(bytes.NewReader(tc.in))
			if !errors.Is(err, tc.want) {
				t.Fatalf("ReadMessage(% x) = %v, want %v", tc.in, err, tc.want)
			}
		})
	}
}

// A length prefix announcing too much is refused before the body is read:
// the reader is left right after the prefix.
func TestReadMessageTooLargeReadsNoBody(t *testing.T) {
	in := append([]byte{0x81, 0x08}, bytes.Repeat([]byte{'a'}, 2000)...)
	r := bytes.NewReader(in)
	if _, err := multistream.ReadMessage(r); !errors.Is(err, multistream.ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if r.Len() != 2000 {
		t.Fatalf("read %d body bytes, want 0", 2000-r.Len())
	}
}
