package main

import (
	"fmt"
	"io"
	"net"
	"testing"
)

// BenchmarkLoopbackWriteSize: raw loopback TCP, one connection, the
// writer's write size varied, the reader's fixed at 64 KiB. It shows the
// effect that made the core write large batches in pieces of whole
// segments (BENCHMARKS.md, "Write pieces"): 65,483 bytes is one loopback
// segment, 65,536 and 65,548 (a 64 KiB frame and its header) end a few
// bytes into the next one. Run with
//
//	cd bench && go test -run '^$' -bench LoopbackWriteSize -count 3
func BenchmarkLoopbackWriteSize(b *testing.B) {
	for _, size := range []int{32768, 65482, 65483, 65536, 65548, 130966, 131072, 262144} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			done := make(chan error, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					done <- err
					return
				}
				defer c.Close()
				_, err = io.CopyBuffer(io.Discard, struct{ io.Reader }{c}, make([]byte, 64<<10))
				done <- err
			}()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, size)
			// Warm up: the connection's segment size starts at half of
			// loopback's and grows once data flows.
			for range (64 << 20) / size {
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(size))
			b.ResetTimer()
			for b.Loop() {
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			c.Close()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		})
	}
}
