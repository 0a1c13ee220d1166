//go:build !linux

package yamux

// tuneConn does nothing where TCP_NOTSENT_LOWAT is not set (see
// sendtune_linux.go).
func tuneConn(any) {}
