//go:build !linux

package yamux

import "errors"

// bodyReader is Linux's readv of a body and the header after it
// (readv_linux.go); elsewhere the header is read on its own.
type bodyReader struct{}

func newBodyReader(any) *bodyReader { return nil }

// read is never called: newBodyReader gives no bodyReader here.
func (*bodyReader) read(body, hdr []byte) (nb, nh int, err error) {
	return 0, 0, errors.ErrUnsupported
}
