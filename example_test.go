package yamux_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/yamuxgo/yamux"
)

// A server accepts streams in a loop and serves each in its own goroutine;
// a client opens a stream, writes a request, half-closes and reads the
// answer. Both ends run over one loopback TCP connection.
func Example() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()

	served := make(chan struct{})
	go func() {
		defer close(served)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		session, err := yamux.Server(conn, nil) // nil: DefaultConfig()
		if err != nil {
			conn.Close()
			return
		}
		defer session.Close()
		for {
			stream, err := session.AcceptStream()
			if err != nil {
				return // the client closed the session
			}
			go func() {
				defer stream.Close()
				req, _ := io.ReadAll(stream) // until the client's CloseWrite
				fmt.Fprintf(stream, "hello, %s", req)
			}()
		}
	}()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	session, err := yamux.Client(conn, nil)
	if err != nil {
		panic(err)
	}
	stream, err := session.OpenStream()
	if err != nil {
		panic(err)
	}
	io.WriteString(stream, "gopher")
	stream.CloseWrite()
	answer, err := io.ReadAll(stream)
	fmt.Printf("%s (err %v)\n", answer, err)

	stream.Close()
	session.Close() // also closes conn
	<-served
	// Output: hello, gopher (err <nil>)
}

// examplePair returns a client and a server session over net.Pipe, for the
// examples that are about streams rather than connections.
func examplePair() (client, server *yamux.Session) {
	c1, c2 := net.Pipe()
	client, err := yamux.Client(c1, nil)
	if err != nil {
		panic(err)
	}
	server, err = yamux.Server(c2, nil)
	if err != nil {
		panic(err)
	}
	return client, server
}

// CloseWrite sends FIN: the peer reads everything written, then io.EOF,
// and may still answer on the same stream.
func ExampleStream_CloseWrite() {
	client, server := examplePair()
	defer client.Close()
	defer server.Close()

	done := make(chan struct{})
	go func() {
		defer close(done)
		st, err := server.AcceptStream()
		if err != nil {
			return
		}
		defer st.Close()
		n, err := io.Copy(io.Discard, st)
		fmt.Printf("server read %d bytes, then %v\n", n, err == nil)
		fmt.Println("server state:", st.State())
		fmt.Fprintf(st, "got %d", n)
	}()

	st, _ := client.OpenStream()
	st.Write(make([]byte, 1000))
	st.CloseWrite()
	answer, err := io.ReadAll(st)
	<-done
	fmt.Printf("client read %q, err %v\n", answer, err)
	fmt.Println("client state:", st.State())
	// Output:
	// server read 1000 bytes, then true
	// server state: HalfClosedRecv
	// client read "got 1000", err <nil>
	// client state: FullyClosed
}

// ResetWithError aborts a stream with a code; the peer's Read and Write
// fail with a *StreamError carrying it, which matches ErrStreamReset.
func ExampleStream_ResetWithError() {
	client, server := examplePair()
	defer client.Close()
	defer server.Close()

	go func() {
		st, err := server.AcceptStream()
		if err != nil {
			return
		}
		st.ResetWithError(0x42) // e.g. "request refused"
	}()

	st, _ := client.OpenStream()
	st.Write([]byte("request"))
	_, err := st.Read(make([]byte, 1))
	var se *yamux.StreamError
	if errors.As(err, &se) {
		fmt.Printf("code 0x%x, by the peer: %v\n", se.Code, se.Remote)
	}
	fmt.Println("matches ErrStreamReset:", errors.Is(err, yamux.ErrStreamReset))
	fmt.Println("state:", st.State())
	// Output:
	// code 0x42, by the peer: true
	// matches ErrStreamReset: true
	// state: Reset
}

// A read deadline bounds a Read; the error is a net.Error with Timeout()
// true that wraps os.ErrDeadlineExceeded. The stream stays usable: move
// the deadline and read again.
func ExampleStream_SetReadDeadline() {
	client, server := examplePair()
	defer client.Close()
	defer server.Close()

	st, _ := client.OpenStream()
	defer st.Close()
	peer, _ := server.AcceptStream() // the SYN arrives as soon as Open returns
	defer peer.Close()

	st.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	_, err := st.Read(make([]byte, 1)) // the peer writes nothing
	var ne net.Error
	fmt.Println("timeout:", errors.As(err, &ne) && ne.Timeout())
	fmt.Println("deadline exceeded:", errors.Is(err, os.ErrDeadlineExceeded))

	st.SetReadDeadline(time.Time{}) // no deadline
	peer.Write([]byte("late"))
	buf := make([]byte, 4)
	n, err := io.ReadFull(st, buf)
	fmt.Printf("then read %q, err %v\n", buf[:n], err)
	// Output:
	// timeout: true
	// deadline exceeded: true
	// then read "late", err <nil>
}

// Graceful shutdown of an accept loop: GoAway refuses new streams (the
// peer's OpenStream fails with ErrRemoteGoAway) while the streams already
// accepted run to completion; then Close ends the session, and the accept
// loop returns with an error matching ErrSessionShutdown.
func ExampleSession_GoAway() {
	client, server := examplePair()
	defer client.Close()

	var handlers sync.WaitGroup
	loopDone := make(chan error, 1)
	go func() {
		for {
			st, err := server.AcceptStream()
			if err != nil {
				loopDone <- err
				return
			}
			handlers.Add(1)
			go func() { // an echo handler
				defer handlers.Done()
				defer st.Close()
				io.Copy(st, st)
			}()
		}
	}()

	st, _ := client.OpenStream()
	io.WriteString(st, "one ")
	first := make([]byte, 4)
	io.ReadFull(st, first) // the echo: the server has accepted the stream
	fmt.Printf("echo: %q\n", first)

	// Shutting down: no new streams from now on.
	server.GoAway()
	// A ping round trip: the pong follows the GO_AWAY, so the client has
	// seen it when Ping returns.
	client.Ping()
	_, err := client.OpenStream()
	fmt.Println("new stream refused:", errors.Is(err, yamux.ErrRemoteGoAway))

	// The stream accepted before GoAway still works.
	io.WriteString(st, "two")
	st.CloseWrite()
	rest, _ := io.ReadAll(st)
	fmt.Printf("echo: %q\n", rest)

	handlers.Wait() // every accepted stream is done
	server.Close()
	err = <-loopDone
	fmt.Println("accept loop ended:", errors.Is(err, yamux.ErrSessionShutdown))
	// Output:
	// echo: "one "
	// new stream refused: true
	// echo: "two"
	// accept loop ended: true
}
