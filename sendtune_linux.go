//go:build linux

package yamux

import "syscall"

// notSentLowat is the kernel's limit on a TCP connection's unsent bytes
// that the session sets (TCP_NOTSENT_LOWAT): bytes beyond it stay in our
// send queue, where control frames and small DATA frames overtake bulk
// data, instead of in the socket buffer, where nothing overtakes anything.
const notSentLowat = 128 << 10

// tuneConn sets TCP_NOTSENT_LOWAT on conn if it is a TCP socket, and
// returns a function that reads the size of the pieces a large batch is
// best written in there (writePiece of the socket's current maximum
// segment size; 0 if it cannot be read); nil for any other conn. The
// segment size grows as the connection learns the path (on loopback from
// 32,741 bytes to 65,483), so the send loop calls it again now and then.
// Both closures are made once: reading allocates nothing.
func tuneConn(conn any) (readPiece func() int) {
	sc, ok := conn.(interface {
		SyscallConn() (syscall.RawConn, error)
	})
	if !ok {
		return nil
	}
	if _, tcp := conn.(interface{ SetNoDelay(bool) error }); !tcp {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	rc.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpNotSentLowat, notSentLowat)
	})
	var mss int
	readMSS := func(fd uintptr) {
		mss, err = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG)
	}
	return func() int {
		if rc.Control(readMSS) != nil || err != nil {
			return 0
		}
		return writePiece(mss)
	}
}

// tcpNotSentLowat is Linux's TCP_NOTSENT_LOWAT (include/uapi/linux/tcp.h),
// which package syscall does not name on every architecture.
const tcpNotSentLowat = 25
