package multistream_test

import (
	"net"
	"testing"

	"go.uber.org/goleak"

	"github.com/yamuxgo/yamux/internal/memconn"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// transport builds a connected pair.
type transport struct {
	name string
	pair func(t testing.TB) (dialer, listener net.Conn)
}

var pipeTransport = transport{"pipe", func(t testing.TB) (net.Conn, net.Conn) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}}

var memTransport = transport{"memconn", func(t testing.TB) (net.Conn, net.Conn) {
	a, b := memconn.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}}

var tcpTransport = transport{"tcp", func(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() { c, err := ln.Accept(); ch <- res{c, err} }()
	d, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { d.Close(); r.c.Close() })
	return d, r.c
}}

// allTransports: an unbuffered pipe, a buffered one, and loopback TCP.
var allTransports = []transport{pipeTransport, memTransport, tcpTransport}

// buffered: the transports a lazy dialer's first write fits into.
var buffered = []transport{memTransport, tcpTransport}

// result of one side run in a goroutine.
type result struct {
	proto string
	err   error
}

func goRun(f func() (string, error)) <-chan result {
	ch := make(chan result, 1)
	go func() { p, err := f(); ch <- result{p, err} }()
	return ch
}
