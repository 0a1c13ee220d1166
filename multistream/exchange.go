package multistream

import (
	"io"
	"time"
)

// writeDeadliner is the part of net.Conn that lets a failed negotiation
// unblock its own pending write.
type writeDeadliner interface {
	SetWriteDeadline(time.Time) error
}

// exchange writes out while read runs, so that two peers that both write
// first never wait on each other, even over an unbuffered transport. The
// writer goroutine has ended when exchange returns: if read fails while the
// write is still blocked (a peer that does not read), the write is cut off
// through an expired write deadline when rw has one. The read error wins
// over the write error, because it says what the peer did.
func exchange(rw io.ReadWriter, out []byte, read func() error) error {
	done := make(chan error, 1)
	go func() {
		_, err := rw.Write(out)
		done <- err
	}()
	rerr := read()
	if rerr != nil {
		select {
		case <-done:
		default:
			if d, ok := rw.(writeDeadliner); ok {
				_ = d.SetWriteDeadline(time.Unix(1, 0))
			}
			<-done
		}
		return rerr
	}
	return <-done
}
