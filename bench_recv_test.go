package yamux_test

import (
	"fmt"
	"io"
	"math"
	"testing"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
)

// BenchmarkRecv measures the receive path alone: a raw peer writes
// pre-encoded DATA frames over loopback TCP, honouring the window our
// session grants, and one Read loop drains the stream. Nothing of our send
// path runs but the window updates.
func BenchmarkRecv(b *testing.B) {
	for _, size := range []int{64 * kib, 16 * kib, 1 * kib, 1} {
		b.Run(fmt.Sprintf("frame=%d", size), func(b *testing.B) {
			benchRecv(b, size)
		})
	}
}

func benchRecv(b *testing.B, size int) {
	ours, raw := tcpPair(b)
	cfg := testConfig()
	cfg.EnableKeepAlive = false
	s, err := yamux.Server(ours, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	defer raw.Close()
	// Credit our session grants, read off the wire.
	credit := make(chan uint32, 1024)
	go func() {
		defer close(credit)
		fr := frame.NewReader(raw, math.MaxUint32)
		for {
			h, err := fr.ReadHeader()
			if err != nil {
				return
			}
			if h.Type() == frame.TypeWindowUpdate && h.Length() > 0 {
				credit <- h.Length()
			}
		}
	}()
	if _, err := raw.Write(rawEncode(frame.TypeWindowUpdate, frame.FlagSYN, 1, 0)); err != nil {
		b.Fatal(err)
	}
	st, err := s.AcceptStream()
	if err != nil {
		b.Fatal(err)
	}
	// Batch frames into writes of about 64 KiB, as a sender's writev does.
	perWrite := max(1, 64*kib/(size+frame.HeaderSize))
	msg := rawEncode(frame.TypeData, 0, 1, uint32(size), make([]byte, size)...)
	batch := make([]byte, 0, perWrite*len(msg))
	for range perWrite {
		batch = append(batch, msg...)
	}
	done := make(chan error, 1)
	total := int64(b.N) * int64(size)
	go func() {
		buf := make([]byte, 64*kib)
		var got int64
		for got < total {
			n, err := st.Read(buf)
			got += int64(n)
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	window := int64(256 * kib)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for sent := 0; sent < b.N; {
		k := min(perWrite, b.N-sent)
		for window < int64(k*size) {
			d, ok := <-credit
			if !ok {
				b.Fatal("our session stopped granting credit")
			}
			window += int64(d)
		}
		if _, err := raw.Write(batch[:k*len(msg)]); err != nil {
			b.Fatal(err)
		}
		window -= int64(k * size)
		sent += k
	}
	if err := <-done; err != nil && err != io.EOF {
		b.Fatal(err)
	}
}
