package main

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// Dial to first echoed byte: a fresh loopback TCP connection, the security
// handshake, the sessions (or, for go-libp2p, the host's connect and
// identify), a stream, and one byte there and back; one dial after another.
func dialEchoScenario() Scenario {
	return Scenario{
		Name: "dial-echo-tcp",
		Desc: "dial a fresh loopback TCP connection, secure it, start the sessions, open a stream, 1-byte echo; one dial after another",
		Metrics: []Metric{
			{Key: "p50_us", Label: "dial→echo p50 µs", Headline: true},
			{Key: "p99_us", Label: "dial→echo p99 µs"},
			{Key: "cpu_us_per_dial", Label: "CPU µs/dial"},
		},
		Run: runDialEcho,
	}
}

// connSet is the scenario's stand-in Link for the watchdog: closing it
// closes the listener and every connection it knows of.
type connSet struct {
	mu     sync.Mutex
	cs     map[io.Closer]struct{}
	closed bool
}

func (c *connSet) add(x io.Closer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		x.Close()
		return false
	}
	c.cs[x] = struct{}{}
	return true
}

func (c *connSet) remove(x io.Closer) {
	c.mu.Lock()
	delete(c.cs, x)
	c.mu.Unlock()
}

func (c *connSet) Open() (Stream, error)      { return nil, errLinkClosed }
func (c *connSet) Accept() (Stream, error)    { return nil, errLinkClosed }
func (c *connSet) CloseStream(s Stream) error { return s.Close() }
func (c *connSet) Close() error {
	c.mu.Lock()
	c.closed = true
	cs := c.cs
	c.cs = nil
	c.mu.Unlock()
	for x := range cs {
		x.Close()
	}
	return nil
}

// register makes l part of the run, for the watchdog and the final close.
func (e *env) register(l Link) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.timedOut {
		l.Close()
		return errTimeout
	}
	e.links = append(e.links, l)
	return nil
}

// redialer is a Link that can drop its connection and dial a fresh one
// (the go-libp2p host pair). Hanging up is apart from dialing so that, as
// for the layered contenders, it is not timed.
type redialer interface {
	Redial() error
	HangUp() error
}

func runDialEcho(e *env) (map[string]float64, error) {
	// one dials and echoes, and returns how to hang up: the hang-up is not
	// timed, since how a library closes is not what a dial costs.
	var one func() (func(), error)
	var cleanup func()
	if e.c.Build != nil {
		l, err := e.connect(TCP)
		if err != nil {
			return nil, err
		}
		rd, ok := l.(redialer)
		if !ok {
			return nil, errors.New("muxbench: this contender cannot redial")
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // server: echo the first byte of every stream
			defer wg.Done()
			for {
				s, err := l.Accept()
				if err != nil {
					return
				}
				b := make([]byte, 1)
				if _, err := io.ReadFull(s, b); err == nil {
					s.Write(b)
				}
				s.Close()
			}
		}()
		cleanup = func() { l.Close(); wg.Wait() }
		if err := rd.HangUp(); err != nil { // the link came connected
			cleanup()
			return nil, err
		}
		one = func() (func(), error) {
			if err := rd.Redial(); err != nil {
				return nil, err
			}
			s, err := l.Open()
			if err != nil {
				rd.HangUp()
				return nil, err
			}
			hangUp := func() { s.Close(); rd.HangUp() }
			if err := echoOnce(s); err != nil {
				hangUp()
				return nil, err
			}
			return hangUp, nil
		}
	} else {
		var err error
		if one, cleanup, err = layeredDialEcho(e); err != nil {
			return nil, err
		}
	}
	defer cleanup()
	for range 5 { // warm-up
		hangUp, err := one()
		if err != nil {
			return nil, err
		}
		hangUp()
	}
	lat := make([]time.Duration, 0, 4096)
	m := startMeter()
	for deadline := time.Now().Add(e.p.PingDur); time.Now().Before(deadline); {
		t0 := time.Now()
		hangUp, err := one()
		if err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
		hangUp()
	}
	r := m.stop() // CPU per dial includes the hang-ups
	sortDurations(lat)
	return map[string]float64{
		"p50_us":          percentileUS(lat, 0.50),
		"p99_us":          percentileUS(lat, 0.99),
		"cpu_us_per_dial": us(r.cpu) / float64(len(lat)),
	}, nil
}

func echoOnce(s Stream) error {
	b := []byte{1}
	if _, err := s.Write(b); err != nil {
		return err
	}
	_, err := io.ReadFull(s, b)
	return err
}

// layeredDialEcho builds the dial for a contender made of layers: a
// listener whose every connection is secured, muxed and echoed by its own
// goroutine, and a client that does the same from its side.
func layeredDialEcho(e *env) (one func() (func(), error), cleanup func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	set := &connSet{cs: map[io.Closer]struct{}{}}
	set.add(ln)
	if err := e.register(set); err != nil {
		return nil, nil, err
	}
	c := e.c
	var wg sync.WaitGroup
	serve := func(conn net.Conn) {
		defer wg.Done()
		defer set.remove(conn)
		defer conn.Close()
		var sc net.Conn = conn
		if c.Secure != nil {
			var err error
			if sc, err = c.Secure(conn, false); err != nil {
				return
			}
		}
		var s Stream = sc
		if c.Mux != nil {
			sess, err := c.Mux.New(sc, false)
			if err != nil {
				return
			}
			defer sess.Close()
			if s, err = sess.Accept(); err != nil {
				return
			}
		}
		b := make([]byte, 1)
		if _, err := io.ReadFull(s, b); err != nil {
			return
		}
		if _, err := s.Write(b); err != nil {
			return
		}
		io.Copy(io.Discard, s) // until the client hangs up
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			if !set.add(conn) {
				return
			}
			wg.Add(1)
			go serve(conn)
		}
	}()
	one = func() (func(), error) {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return nil, err
		}
		if !set.add(conn) {
			return nil, errLinkClosed
		}
		var sess Session
		hangUp := func() {
			if sess != nil {
				sess.Close()
			}
			conn.Close()
			set.remove(conn)
		}
		fail := func(err error) (func(), error) {
			hangUp()
			return nil, err
		}
		var cc net.Conn = conn
		if c.Secure != nil {
			if cc, err = c.Secure(conn, true); err != nil {
				return fail(err)
			}
		}
		var s Stream = cc
		if c.Mux != nil {
			if sess, err = c.Mux.New(cc, true); err != nil {
				return fail(err)
			}
			if s, err = sess.Open(); err != nil {
				return fail(err)
			}
		}
		if err := echoOnce(s); err != nil {
			return fail(err)
		}
		return hangUp, nil
	}
	cleanup = func() {
		set.Close()
		wg.Wait()
	}
	return one, cleanup, nil
}

// Redial connects the client host to the server again after HangUp (TCP,
// Noise, Yamux and identify, as go-libp2p does them).
func (l *libp2pLink) Redial() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return l.client.Connect(ctx, peer.AddrInfo{ID: l.server.ID(), Addrs: l.server.Addrs()})
}

// HangUp drops the client host's connection to the server.
func (l *libp2pLink) HangUp() error { return l.client.Network().ClosePeer(l.server.ID()) }
