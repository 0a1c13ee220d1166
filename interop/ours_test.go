//go:build !nocore

// Adapter for the implementation under test. Build with -tags nocore to run
// the harness (peer-to-peer sanity pairings) while the core does not compile.

package interop

import (
	"context"
	"errors"
	"net"
	"time"

	yamux "github.com/yamuxgo/yamux"
)

func init() { registerImpl(oursImpl{}) }

type oursImpl struct{}

func (oursImpl) Name() string { return "ours" }

func (oursImpl) NewSession(conn net.Conn, client bool, o sessOpts) (session, error) {
	cfg := yamux.DefaultConfig()
	if o.keepAlive > 0 {
		cfg.KeepAliveInterval = o.keepAlive
	}
	var s *yamux.Session
	var err error
	if client {
		s, err = yamux.Client(conn, cfg)
	} else {
		s, err = yamux.Server(conn, cfg)
	}
	if err != nil {
		return nil, err
	}
	return oursSession{s}, nil
}

func (oursImpl) IsShutdown(err error) bool     { return errors.Is(err, yamux.ErrSessionShutdown) }
func (oursImpl) IsRemoteGoAway(err error) bool { return errors.Is(err, yamux.ErrRemoteGoAway) }
func (oursImpl) IsReset(err error) bool        { return errors.Is(err, yamux.ErrStreamReset) }
func (oursImpl) hasReset() bool                { return true }
func (oursImpl) isOurs() bool                  { return true }
func (oursImpl) goroutinePrefixes() []string {
	// The root package and its internal packages, not this interop package.
	return []string{"github.com/yamuxgo/yamux.", "github.com/yamuxgo/yamux/internal/"}
}

type oursSession struct{ s *yamux.Session }

func (o oursSession) Open(ctx context.Context) (stream, error) {
	st, err := o.s.OpenStreamContext(ctx)
	if err != nil {
		return nil, err
	}
	return st, nil
}

func (o oursSession) Accept(ctx context.Context) (stream, error) {
	st, err := o.s.AcceptStreamContext(ctx)
	if err != nil {
		return nil, err
	}
	return st, nil
}

func (o oursSession) Ping() (time.Duration, error) { return o.s.Ping() }
func (o oursSession) GoAway() error                { return o.s.GoAway() }
func (o oursSession) Close() error                 { return o.s.Close() }
func (o oursSession) CloseChan() <-chan struct{}   { return o.s.CloseChan() }
func (o oursSession) IsClosed() bool               { return o.s.IsClosed() }
func (o oursSession) Err() error                   { return o.s.Err() }
