package frame

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// TestErrInvalidHeader: every header the codec rejects matches the one
// sentinel (and its specific error); a failing reader does not.
func TestErrInvalidHeader(t *testing.T) {
	badVersion := New(TypePing, 0, 0, 0)
	badVersion[0] = 1
	for _, tt := range []struct {
		name     string
		in       []byte
		specific error
	}{
		{"version", badVersion[:], ErrInvalidVersion},
		{"type", func() []byte { h := New(TypePing, 0, 0, 0); h[1] = 9; return h[:] }(), ErrInvalidType},
		{"too large", func() []byte { h := New(TypeData, 0, 1, 1001); return h[:] }(), ErrFrameTooLarge},
	} {
		_, err := NewReader(bytes.NewReader(tt.in), 1000).ReadHeader()
		if !errors.Is(err, ErrInvalidHeader) || !errors.Is(err, tt.specific) {
			t.Errorf("%s: ReadHeader error %v, want it to match ErrInvalidHeader and %v", tt.name, err, tt.specific)
		}
	}
	h := New(TypePing, 0, 0, 0)
	_, err := NewReader(bytes.NewReader(h[:5]), 1000).ReadHeader()
	if !errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, ErrInvalidHeader) {
		t.Errorf("short header: %v, want io.ErrUnexpectedEOF and not ErrInvalidHeader", err)
	}
}
