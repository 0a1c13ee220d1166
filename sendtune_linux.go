//go:build linux

package yamux

import "syscall"

// notSentLowat is the kernel's limit on a TCP connection's unsent bytes
// that the session sets (TCP_NOTSENT_LOWAT): bytes beyond it stay in our
// send queue, where control frames and small DATA frames overtake bulk
// data, instead of in the socket buffer, where nothing overtakes anything.
const notSentLowat = 128 << 10

// tuneConn sets TCP_NOTSENT_LOWAT on conn if it is a TCP socket.
func tuneConn(conn any) {
	sc, ok := conn.(interface {
		SyscallConn() (syscall.RawConn, error)
	})
	if !ok {
		return
	}
	if _, tcp := conn.(interface{ SetNoDelay(bool) error }); !tcp {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpNotSentLowat, notSentLowat)
	})
}

// tcpNotSentLowat is Linux's TCP_NOTSENT_LOWAT (include/uapi/linux/tcp.h),
// which package syscall does not name on every architecture.
const tcpNotSentLowat = 25
