//go:build !linux

package yamux

// tuneConn does nothing where TCP_NOTSENT_LOWAT is not set (see
// sendtune_linux.go), and batches are written whole.
func tuneConn(any) (readPiece func() int) { return nil }
