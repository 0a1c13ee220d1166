package yamux_test

import (
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/yamuxgo/yamux"
)

// benchPair returns a client and server session over loopback TCP.
func benchPair(b *testing.B, cfg *yamux.Config) (*yamux.Session, *yamux.Session) {
	b.Helper()
	return sessionPair(b, tcpPair, cfg, cfg)
}

// BenchmarkBulk moves data one way over one stream with 64 KiB writes.
func BenchmarkBulk(b *testing.B) {
	for _, tr := range transports {
		b.Run(tr.name, func(b *testing.B) {
			client, server := sessionPair(b, tr.pair, testConfig(), testConfig())
			benchBulk(b, client, server, 64<<10)
		})
	}
}

func benchBulk(b *testing.B, client, server *yamux.Session, chunk int) {
	done := make(chan int64)
	go func() {
		st, err := server.AcceptStream()
		if err != nil {
			done <- 0
			return
		}
		n, _ := io.Copy(io.Discard, st)
		st.Close()
		done <- n
	}()
	st, err := client.OpenStream()
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, chunk)
	b.SetBytes(int64(chunk))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := st.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	st.CloseWrite()
	if n := <-done; n != int64(b.N)*int64(chunk) {
		b.Fatalf("received %d bytes, want %d", n, int64(b.N)*int64(chunk))
	}
	st.Close()
}

// BenchmarkWriteSizes is one stream's bulk transfer at several Write
// sizes over TCP: below smallWriteMax a Write is copied and coalesced,
// above it the frame is written from the caller's slice while it waits.
func BenchmarkWriteSizes(b *testing.B) {
	for _, size := range []int{128, 1 << 10, 4 << 10, 8 << 10, 16 << 10, 64 << 10, 256 << 10} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			client, server := benchPair(b, testConfig())
			benchBulk(b, client, server, size)
		})
	}
}

// BenchmarkRawTCP is the same transfer over the bare socket, for ratios.
func BenchmarkRawTCP(b *testing.B) {
	c1, c2 := tcpPair(b)
	defer c1.Close()
	defer c2.Close()
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, c2)
		close(done)
	}()
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		c1.Write(buf)
	}
	c1.(*net.TCPConn).CloseWrite()
	<-done
}

// BenchmarkManyStreams writes concurrently on 64 streams of one session;
// b.N counts 64 KiB writes across all of them.
func BenchmarkManyStreams(b *testing.B) {
	client, server := benchPair(b, testConfig())
	const streams = 64
	var readers sync.WaitGroup
	readers.Add(streams)
	go func() {
		for range streams {
			st, err := server.AcceptStream()
			if err != nil {
				return
			}
			go func() {
				defer readers.Done()
				io.Copy(io.Discard, st)
				st.Close()
			}()
		}
	}()
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	var writers sync.WaitGroup
	for i := range streams {
		st, err := client.OpenStream()
		if err != nil {
			b.Fatal(err)
		}
		n := b.N / streams
		if i < b.N%streams {
			n++
		}
		writers.Add(1)
		go func() {
			defer writers.Done()
			defer st.Close()
			for range n {
				if _, err := st.Write(buf); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	writers.Wait()
	readers.Wait()
}

// BenchmarkPingPong measures a 1-byte request/response round trip on one
// stream.
func BenchmarkPingPong(b *testing.B) {
	client, server := benchPair(b, testConfig())
	go func() {
		st, err := server.AcceptStream()
		if err != nil {
			return
		}
		io.Copy(st, st)
		st.Close()
	}()
	st, err := client.OpenStream()
	if err != nil {
		b.Fatal(err)
	}
	buf := []byte{1}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := st.Write(buf); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(st, buf); err != nil {
			b.Fatal(err)
		}
	}
	st.Close()
}

// BenchmarkStreamChurn opens a stream, echoes 1 KiB and closes it.
func BenchmarkStreamChurn(b *testing.B) {
	client, server := benchPair(b, testConfig())
	handlers := serveStreams(server, func(st *yamux.Stream) {
		io.Copy(st, st)
		st.Close()
	})
	buf := make([]byte, 1024)
	b.ReportAllocs()
	for b.Loop() {
		st, err := client.OpenStream()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.Write(buf); err != nil {
			b.Fatal(err)
		}
		st.CloseWrite()
		if _, err := io.ReadFull(st, buf); err != nil {
			b.Fatal(err)
		}
		st.Close()
	}
	client.Close()
	handlers.Wait()
}

// BenchmarkR14_SlowReader is the figure of R14 (docs/hostile-peers.md):
// 999 streams echo 64 KiB each over one TCP session, with and without
// stream #0 stalled (its reader never reads, its writer has filled its
// window). Compare the two sub-benchmarks' echo-MB/s: the stalled run
// should keep at least 0.8 of the baseline. TestR14_SlowReader checks
// the behaviour (no head-of-line blocking, stream #0 intact).
func BenchmarkR14_SlowReader(b *testing.B) {
	const n = 1000
	for _, stall := range []bool{false, true} {
		name := "baseline"
		if stall {
			name = "stalled"
		}
		b.Run(name, func(b *testing.B) {
			var echo time.Duration
			iters := 0
			for b.Loop() {
				echo += runR14(b, n, r14Size, stall)
				iters++
			}
			moved := float64(2*(n-1)*r14Size) * float64(iters)
			b.ReportMetric(moved/echo.Seconds()/1e6, "echo-MB/s")
		})
	}
}
