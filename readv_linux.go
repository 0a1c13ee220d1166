//go:build linux

package yamux

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// bodyReader reads the rest of a DATA body and the next frame's header in
// one system call (readv): a Read holding the read role reads a large
// body straight into its slice (stepFor), and without this the header
// after it costs a read of its own. On an AF_UNIX socketpair that extra
// read per frame was 16 system calls per MiB and most of our distance to
// the bare socket (BENCHMARKS.md, "The third pass").
type bodyReader struct {
	conn net.Conn // for the addresses in errors
	rc   syscall.RawConn
	iov  [2]syscall.Iovec
	cnt  int
	// Results of the last readv, set by readFn.
	n     int
	errno syscall.Errno
	// calls counts the reads made (for tests: how a stream of frames is
	// read).
	calls int
	// readFn is the RawConn callback, made once so a read allocates
	// nothing.
	readFn func(fd uintptr) bool
}

// newBodyReader returns a bodyReader for conn if it is a socket whose
// reads readv can share (TCP or Unix), else nil.
func newBodyReader(conn any) *bodyReader {
	sc, rc := socketOf(conn)
	if rc == nil {
		return nil
	}
	r := &bodyReader{conn: sc, rc: rc}
	r.readFn = r.readv
	return r
}

// socketOf returns conn and its raw socket if it is a TCP or Unix socket
// (the conns whose reads the session may make with system calls of its
// own: bodyReader, inqProbe), else nil, nil.
func socketOf(conn any) (net.Conn, syscall.RawConn) {
	var sc interface {
		net.Conn
		syscall.Conn
	}
	switch c := conn.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return nil, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, nil
	}
	return sc, rc
}

func (r *bodyReader) readv(fd uintptr) bool {
	for {
		n, _, errno := syscall.Syscall(syscall.SYS_READV, fd, uintptr(unsafe.Pointer(&r.iov[0])), uintptr(r.cnt))
		switch errno {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // wait for the socket to be readable (or the deadline)
		}
		r.n, r.errno = int(n), errno
		return true
	}
}

// read reads into body and, once body is full, on into hdr, in one system
// call, and returns how many bytes went to each; like a conn's Read it
// waits for at least one byte, honours the read deadline (the read role's
// interruption) and returns io.EOF at the end of the stream.
func (r *bodyReader) read(body, hdr []byte) (nb, nh int, err error) {
	r.iov[0] = syscall.Iovec{Base: &body[0]}
	r.iov[0].SetLen(len(body))
	r.cnt = 1
	if len(hdr) > 0 {
		r.iov[1] = syscall.Iovec{Base: &hdr[0]}
		r.iov[1].SetLen(len(hdr))
		r.cnt = 2
	}
	r.n, r.errno = 0, 0
	r.calls++
	err = r.rc.Read(r.readFn)
	r.iov = [2]syscall.Iovec{} // do not pin the Read's slice
	switch {
	case err != nil:
		return 0, 0, err
	case r.errno != 0:
		// As the conn's Read reports it (a peer's reset, say).
		return 0, 0, &net.OpError{Op: "read", Net: r.conn.LocalAddr().Network(),
			Source: r.conn.LocalAddr(), Addr: r.conn.RemoteAddr(), Err: os.NewSyscallError("readv", r.errno)}
	case r.n == 0:
		return 0, 0, io.EOF
	}
	nb = min(r.n, len(body))
	return nb, r.n - nb, nil
}
