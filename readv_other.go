//go:build !linux

package yamux

// bodyReader is Linux's readv of a body and the header after it
// (readv_linux.go); elsewhere the header is read on its own.
type bodyReader struct{}

func newBodyReader(any) *bodyReader { return nil }

func (*bodyReader) read(body, hdr []byte) (nb, nh int, err error) { panic("unreachable") }
