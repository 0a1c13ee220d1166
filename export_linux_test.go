package yamux

import "net"

// BodyReads is how many times s has read a body's end and the next
// header together (readv_linux.go). Only a Read holding the read role does
// that, in its own goroutine: call it from that goroutine, between Reads.
func BodyReads(s *Session) int {
	if s.bodyReader == nil {
		return 0
	}
	return s.bodyReader.calls
}

// Unread is how many unread bytes the socket c has (the probe a session
// asks, inq_linux.go); 0 if it cannot tell.
func Unread(c net.Conn) int {
	p := newInqProbe(c)
	if p == nil {
		return 0
	}
	n, _ := p.unread()
	return n
}
