package yamux_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"golang.org/x/net/nettest"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/memconn"
)

// TestStreamNetConn runs the x/net/nettest conformance suite for net.Conn
// against a Stream pair: deadlines in the past, present and future, Close
// racing pending calls, concurrent methods and plain I/O. It runs outside
// bubbles (nettest uses real time), over memconn and TCP loopback.
func TestStreamNetConn(t *testing.T) {
	t.Run("mem", func(t *testing.T) {
		nettest.TestConn(t, makePipe(func() (net.Conn, net.Conn, error) {
			a, b := memconn.Pipe()
			return a, b, nil
		}))
	})
	t.Run("tcp", func(t *testing.T) {
		nettest.TestConn(t, makePipe(tcpPipe))
	})
}

// makePipe returns a nettest.MakePipe whose conns are the two ends of one
// stream of a fresh session pair over dial's conns; stop closes both
// sessions.
func makePipe(dial func() (net.Conn, net.Conn, error)) nettest.MakePipe {
	return func() (c1, c2 net.Conn, stop func(), err error) {
		cc, sc, err := dial()
		if err != nil {
			return nil, nil, nil, err
		}
		client, err := yamux.Client(cc, testConfig())
		if err != nil {
			cc.Close()
			sc.Close()
			return nil, nil, nil, err
		}
		server, err := yamux.Server(sc, testConfig())
		if err != nil {
			client.Close()
			sc.Close()
			return nil, nil, nil, err
		}
		stop = func() {
			client.Close()
			server.Close()
		}
		opened, err := client.OpenStream()
		if err != nil {
			stop()
			return nil, nil, nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), guard)
		defer cancel()
		accepted, err := server.AcceptStreamContext(ctx)
		if err != nil {
			stop()
			return nil, nil, nil, err
		}
		return opened, accepted, stop, nil
	}
}

// tcpPipe returns both ends of a loopback TCP connection.
func tcpPipe() (net.Conn, net.Conn, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	type accepted struct {
		c   net.Conn
		err error
	}
	ch := make(chan accepted, 1)
	go func() {
		c, err := ln.Accept()
		ch <- accepted{c, err}
	}()
	cc, err := net.DialTimeout("tcp", ln.Addr().String(), guard)
	if err != nil {
		ln.Close() // ends the Accept
		<-ch
		return nil, nil, err
	}
	select {
	case a := <-ch:
		if a.err != nil {
			cc.Close()
			return nil, nil, a.err
		}
		return cc, a.c, nil
	case <-time.After(guard):
		cc.Close()
		ln.Close()
		if a := <-ch; a.c != nil {
			a.c.Close()
		}
		return nil, nil, errors.New("tcp accept timed out")
	}
}
