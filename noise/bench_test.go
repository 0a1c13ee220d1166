package noise_test

import (
	"io"
	"net"
	"testing"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/noise"
)

// benchPair is a secured loopback TCP pair whose initiator's writes to TCP
// are counted, with a reader draining the responder.
func benchPair(b *testing.B) (*noise.Conn, *noise.Conn, *recordConn) {
	b.Helper()
	a, c := tcpPair(b)
	rec := &recordConn{Conn: a}
	kr := identity(b, 2)
	i, r := handshake(b, rec, c, noise.Config{Identity: identity(b, 1)}, noise.Config{Identity: kr}, kr.ID())
	if i.err != nil || r.err != nil {
		b.Fatal(i.err, r.err)
	}
	return i.conn, r.conn, rec
}

// drain reads exactly n bytes from r in 64 KiB reads.
func drain(r io.Reader, n int64) <-chan error {
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 64<<10)
		for n > 0 {
			k, err := r.Read(buf[:min(int64(len(buf)), n)])
			n -= int64(k)
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	return done
}

func reportWrites(b *testing.B, rec *recordConn, bytesSent int64) {
	b.ReportMetric(float64(rec.nw.Load())/(float64(bytesSent)/(1<<20)), "writes/MiB")
}

// BenchmarkNoiseBulk: throughput of the record layer over loopback TCP,
// with allocations and underlying write calls per MiB.
func BenchmarkNoiseBulk(b *testing.B) {
	yamuxBatch := func() [][]byte {
		var bufs [][]byte
		for range 4 {
			bufs = append(bufs, make([]byte, 12), make([]byte, 64<<10))
		}
		return bufs
	}()
	batchSize := int64(4 * (12 + 64<<10))
	for _, c := range []struct {
		name string
		size int64
		op   func(*noise.Conn, []byte) error
	}{
		{"Write-64KiB", 64 << 10, func(c *noise.Conn, p []byte) error { _, err := c.Write(p); return err }},
		{"Write-1MiB", 1 << 20, func(c *noise.Conn, p []byte) error { _, err := c.Write(p); return err }},
		{"WriteBuffers-yamux-batch", batchSize, func(c *noise.Conn, _ []byte) error { _, err := c.WriteBuffers(yamuxBatch); return err }},
	} {
		b.Run(c.name, func(b *testing.B) {
			w, r, rec := benchPair(b)
			p := make([]byte, c.size)
			done := drain(r, int64(b.N)*c.size)
			rec.nw.Store(0)
			b.SetBytes(c.size)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := c.op(w, p); err != nil {
					b.Fatal(err)
				}
			}
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			reportWrites(b, rec, int64(b.N)*c.size)
		})
	}
}

// BenchmarkYamuxOverNoise: one yamux stream over the secured conn, with the
// yamux core as it is (its send loop writes net.Buffers with WriteTo, which
// calls Write once per buffer on a conn that is not a *net.TCPConn).
func BenchmarkYamuxOverNoise(b *testing.B) {
	w, r, rec := benchPair(b)
	client, err := yamux.Client(w, nil)
	if err != nil {
		b.Fatal(err)
	}
	server, err := yamux.Server(r, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	defer server.Close()
	st, err := client.OpenStream()
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.AcceptStream()
	if err != nil {
		b.Fatal(err)
	}
	const size = 64 << 10
	p := make([]byte, size)
	done := drain(srv, int64(b.N)*size)
	rec.nw.Store(0)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := st.Write(p); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	reportWrites(b, rec, int64(b.N)*size)
}

// BenchmarkHandshake: one XX handshake, both sides, over net.Pipe (no
// kernel), so the figure is the handshake's own CPU: key generation,
// Diffie-Hellman, signing and verifying the identities, the payloads.
func BenchmarkHandshake(b *testing.B) {
	ki, kr := identity(b, 1), identity(b, 2)
	ci, cr := noise.Config{Identity: ki, Muxers: []string{yamuxID}}, noise.Config{Identity: kr, Muxers: []string{yamuxID}}
	b.ReportAllocs()
	for range b.N {
		x, y := net.Pipe()
		i, r := handshakeNoCleanup(x, y, ci, cr, kr.ID())
		if i.err != nil || r.err != nil {
			b.Fatal(i.err, r.err)
		}
		i.conn.Close()
		r.conn.Close()
	}
}

// BenchmarkNoisePingPong: a 1-byte message there and back over the secured
// loopback TCP pair, one round trip per op, with the underlying write
// calls per round trip (both ends).
func BenchmarkNoisePingPong(b *testing.B) {
	w, r, rec := benchPair(b)
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := r.Read(buf)
			if err != nil {
				done <- err
				return
			}
			if _, err := r.Write(buf[:n]); err != nil {
				done <- err
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	rec.nw.Store(0)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := w.Write(buf[:1]); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(w, buf[:1]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(rec.nw.Load())/float64(b.N), "writes/RT")
	w.Close()
	<-done
}
