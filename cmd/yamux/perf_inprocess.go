package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/perf"
)

// startInProcess starts a perf server on 127.0.0.1 inside this process and
// dials it.
func startInProcess(ctx context.Context, o *perfOptions) (*perfTarget, error) {
	if !o.insecure {
		return nil, errors.New("the secured in-process run needs the libp2p host, which is not built yet: use --insecure")
	}
	return startInProcessRaw(ctx, o)
}

// rawServer is a raw-Yamux perf server: every stream of every session is a
// perf exchange, with no protocol negotiation.
type rawServer struct {
	ln   net.Listener
	perf *perfServer
	ctx  context.Context
	stop context.CancelFunc

	wg       sync.WaitGroup
	mu       sync.Mutex
	sessions []*yamux.Session // guarded by mu
}

func newRawServer(srv *perfServer) (*rawServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening on 127.0.0.1: %w", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &rawServer{ln: ln, perf: srv, ctx: ctx, stop: stop}
	s.wg.Go(s.acceptLoop)
	return s, nil
}

func (s *rawServer) acceptLoop() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		sess, err := yamux.Server(conn, nil)
		if err != nil {
			conn.Close()
			continue
		}
		s.mu.Lock()
		s.sessions = append(s.sessions, sess)
		s.mu.Unlock()
		s.wg.Go(func() {
			for {
				st, err := sess.AcceptStream()
				if err != nil {
					return
				}
				s.wg.Go(func() { s.perf.handle(s.ctx, st) })
			}
		})
	}
}

// close stops accepting, ends every session and waits for all goroutines.
func (s *rawServer) close() {
	s.ln.Close()
	s.stop()
	s.mu.Lock()
	for _, sess := range s.sessions {
		sess.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func startInProcessRaw(ctx context.Context, o *perfOptions) (*perfTarget, error) {
	srv := &perfServer{verify: true}
	rs, err := newRawServer(srv)
	if err != nil {
		return nil, err
	}
	addr := rs.ln.Addr().(*net.TCPAddr)
	t, err := dialRaw(ctx, o, addr.String())
	if err != nil {
		rs.close()
		return nil, err
	}
	t.addr = fmt.Sprintf("/ip4/%s/tcp/%d", addr.IP, addr.Port)
	t.inProcess = true
	t.verifyContent = true
	t.server = srv
	closeClient := t.closeFn
	t.closeFn = func() error {
		err := closeClient()
		rs.close()
		return err
	}
	return t, nil
}

// dialRaw dials hostport over TCP and runs a Yamux client on it, with no
// security and no negotiation: every stream is a perf exchange.
func dialRaw(ctx context.Context, o *perfOptions, hostport string) (*perfTarget, error) {
	var setup setupTimes
	t0 := time.Now()
	d := net.Dialer{Timeout: o.timeout}
	conn, err := d.DialContext(ctx, "tcp", hostport)
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", hostport, err)
	}
	setup.TCP = time.Since(t0)
	t1 := time.Now()
	sess, err := yamux.Client(conn, nil)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("starting the Yamux session: %w", err)
	}
	setup.Muxer = time.Since(t1)
	return &perfTarget{
		stack:    "TCP + Yamux (no security)",
		security: "none",
		session:  sess,
		open: func(ctx context.Context) (perf.Stream, error) {
			return sess.OpenStreamContext(ctx)
		},
		setup:   setup,
		closeFn: sess.Close,
	}, nil
}

// dialPerfTarget connects to a perf server at o.target.
func dialPerfTarget(ctx context.Context, o *perfOptions) (*perfTarget, error) {
	return nil, fmt.Errorf("dialing %s: the libp2p host is not built yet; only the in-process run (yamux perf --insecure) works", o.target)
}
