package multistream_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/yamuxgo/yamux/multistream"
)

// FuzzReadMessage: any input either yields messages that re-encode to
// exactly the bytes consumed, or a typed error; never a panic, never a
// message over the cap.
func FuzzReadMessage(f *testing.F) {
	hdr, _ := multistream.AppendMessage(nil, multistream.ProtocolID)
	noise, _ := multistream.AppendMessage(hdr, "/noise")
	f.Add(noise)
	f.Add([]byte{0x03, 'n', 'a', '\n'})
	f.Add([]byte{0x81, 0x08})
	f.Add([]byte{0x83, 0x00, 'n', 'a', '\n'})
	f.Add([]byte("\x13/multistream/1.0.0X"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		for {
			before := r.Len()
			msg, err := multistream.ReadMessage(r)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) &&
					!errors.Is(err, multistream.ErrTooLarge) && !errors.Is(err, multistream.ErrMalformed) {
					t.Fatalf("untyped error %v", err)
				}
				return
			}
			if len(msg)+1 > multistream.MaxMessageSize {
				t.Fatalf("message of %d bytes passed the cap", len(msg))
			}
			consumed := in[len(in)-before : len(in)-r.Len()]
			// Messages with an inner newline are readable but never sent by us.
			if enc, err := multistream.AppendMessage(nil, msg); err == nil && !bytes.Equal(enc, consumed) {
				t.Fatalf("re-encoded %q as % x, consumed % x", msg, enc, consumed)
			}
		}
	})
}

// FuzzNegotiate: arbitrary dialer bytes against our listener end in a
// protocol or an error, and every reply is a well-formed message.
func FuzzNegotiate(f *testing.F) {
	var seed []byte
	seed, _ = multistream.AppendMessage(seed, multistream.ProtocolID)
	seed, _ = multistream.AppendMessage(seed, "/tls/1.0.0")
	seed, _ = multistream.AppendMessage(seed, "/noise")
	f.Add(seed)
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		rw := struct {
			io.Reader
			io.Writer
		}{bytes.NewReader(in), &out}
		p, err := multistream.Negotiate(rw, []string{"/noise", "/yamux/1.0.0"})
		if err == nil && p != "/noise" && p != "/yamux/1.0.0" {
			t.Fatalf("negotiated unsupported %q", p)
		}
		for out.Len() > 0 {
			if _, err := multistream.ReadMessage(&out); err != nil {
				t.Fatalf("we wrote a malformed message: %v", err)
			}
		}
	})
}
