package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	lyamux "github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	lnoise "github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
)

// Two go-libp2p v0.52.0 hosts, restricted to TCP + Noise + Yamux (its
// go-yamux), as an application would run them: one connection, a stream
// per NewStream with a protocol negotiated by multistream-select.

const benchProtocol = "/muxbench/1.0.0"

func libp2pContender() Contender {
	return Contender{
		Name:  "go-libp2p",
		Note:  "two github.com/libp2p/go-libp2p v0.52.0 hosts, TCP + Noise + Yamux only, null resource manager",
		Only:  stackScenarios,
		Base:  "noise",
		Build: newLibp2pLink,
	}
}

func newLibp2pHost(listen bool) (host.Host, error) {
	opts := []libp2p.Option{
		libp2p.NoTransports,
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(lnoise.ID, lnoise.New),
		libp2p.Muxer(lyamux.ID, lyamux.DefaultTransport),
		libp2p.ResourceManager(&network.NullResourceManager{}),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
	}
	if listen {
		opts = append(opts, libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	} else {
		opts = append(opts, libp2p.NoListenAddrs)
	}
	return libp2p.New(opts...)
}

// libp2pLink: Open is a NewStream from the client host, Accept takes the
// streams the server host's handler receives. go-libp2p negotiates the
// protocol lazily (the client's first write carries it), so Open writes
// one byte that the handler consumes before handing the stream over.
type libp2pLink struct {
	client, server host.Host
	streams        chan network.Stream
	done           chan struct{}
	once           sync.Once
}

func newLibp2pLink(tr Transport) (Link, error) {
	if tr != TCP {
		return nil, fmt.Errorf("muxbench: go-libp2p runs over TCP only, not %s", tr)
	}
	server, err := newLibp2pHost(true)
	if err != nil {
		return nil, err
	}
	client, err := newLibp2pHost(false)
	if err != nil {
		server.Close()
		return nil, err
	}
	l := &libp2pLink{client: client, server: server, streams: make(chan network.Stream, 64), done: make(chan struct{})}
	server.SetStreamHandler(benchProtocol, func(s network.Stream) {
		var b [1]byte
		if _, err := io.ReadFull(s, b[:]); err != nil {
			s.Reset()
			return
		}
		select {
		case l.streams <- s:
		case <-l.done:
			s.Reset()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.Connect(ctx, peer.AddrInfo{ID: server.ID(), Addrs: server.Addrs()}); err != nil {
		l.Close()
		return nil, fmt.Errorf("muxbench: go-libp2p connect: %w", err)
	}
	return l, nil
}

func (l *libp2pLink) Open() (Stream, error) {
	s, err := l.client.NewStream(context.Background(), l.server.ID(), benchProtocol)
	if err != nil {
		return nil, err
	}
	if _, err := s.Write([]byte{0}); err != nil {
		s.Reset()
		return nil, err
	}
	return s, nil
}

func (l *libp2pLink) Accept() (Stream, error) {
	select {
	case s := <-l.streams:
		return s, nil
	case <-l.done:
		return nil, errLinkClosed
	}
}

func (l *libp2pLink) CloseStream(s Stream) error { return s.Close() }

func (l *libp2pLink) Close() error {
	var err error
	l.once.Do(func() {
		close(l.done)
		err = errors.Join(l.client.Close(), l.server.Close())
	})
	return err
}
