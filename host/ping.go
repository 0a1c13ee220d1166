package host

import (
	"context"
	"time"

	"github.com/yamuxgo/yamux/ping"
)

// servePing is the ping handler.
func servePing(s *Stream) {
	if err := ping.Serve(s); err != nil {
		s.Reset()
		return
	}
	s.Close()
}

// Ping opens a ping stream, pings the peer once and returns the RTT.
func (c *Conn) Ping(ctx context.Context) (time.Duration, error) {
	s, err := c.NewStream(ctx, ping.ID)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	if d, ok := ctx.Deadline(); ok {
		s.SetDeadline(d)
	}
	rtt, err := ping.Ping(s)
	if err != nil {
		s.Reset()
		return 0, err
	}
	s.CloseWrite()
	return rtt, nil
}
