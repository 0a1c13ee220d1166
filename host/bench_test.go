package host_test

import (
	"io"
	"testing"
	"time"

	"github.com/yamuxgo/yamux/host"
)

// BenchmarkStackUpload: bulk data over the whole stack (TCP loopback,
// Noise, yamux, one lazily negotiated stream) into a sink handler.
func BenchmarkStackUpload(b *testing.B) {
	a, srv := newBenchHosts(b)
	ctx := ctxTimeout(b, time.Minute)
	c, err := a.Dial(ctx, listen(b, srv))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Identify(ctx); err != nil {
		b.Fatal(err)
	}
	s, err := c.NewStream(ctx, "/sink/1.0.0")
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	s.CloseWrite()
	io.Copy(io.Discard, s)
}

func newBenchHosts(b *testing.B) (*host.Host, *host.Host) {
	a, srv := newHost(b, nil), newHost(b, nil)
	srv.SetStreamHandler("/sink/1.0.0", func(s *host.Stream) {
		defer s.Close()
		io.Copy(io.Discard, s)
	})
	return a, srv
}
