package memconn

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/net/nettest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestNetConnContract(t *testing.T) {
	for _, capacity := range []int{0, 64, 1000} {
		t.Run("cap"+strconv.Itoa(capacity), func(t *testing.T) {
			nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
				a, b := PipeWith(Options{Capacity: capacity})
				return a, b, func() { a.Close(); b.Close() }, nil
			})
		})
	}
}

// result of a call run in a goroutine.
type result struct {
	n   int
	err error
}

// goRead/goWrite start a call in a goroutine; the channel yields its result.
func goRead(c *Conn, b []byte) <-chan result {
	ch := make(chan result, 1)
	go func() { n, err := c.Read(b); ch <- result{n, err} }()
	return ch
}

func goWrite(c *Conn, b []byte) <-chan result {
	ch := make(chan result, 1)
	go func() { n, err := c.Write(b); ch <- result{n, err} }()
	return ch
}

// pending reports whether the call has not completed; call after synctest.Wait.
func pending(ch <-chan result) bool { return len(ch) == 0 }

func wantTimeout(t *testing.T, err error) {
	t.Helper()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("got %v, want timeout error", err)
	}
}

func wantIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

func TestBuffering(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe()
		defer a.Close()
		defer b.Close()
		data := make([]byte, 64<<10)
		for i := range data {
			data[i] = byte(i * 7)
		}
		// Both sides write before reading: deadlocks on net.Pipe.
		if n, err := a.Write(data); n != len(data) || err != nil {
			t.Fatalf("a.Write = %d, %v", n, err)
		}
		if n, err := b.Write(data[:100]); n != 100 || err != nil {
			t.Fatalf("b.Write = %d, %v", n, err)
		}
		if got := a.BytesWritten(); got != int64(len(data)) {
			t.Fatalf("BytesWritten = %d", got)
		}
		clear(data[:10]) // the pipe must have copied the data
		got := make([]byte, len(data))
		if _, err := io.ReadFull(b, got); err != nil {
			t.Fatal(err)
		}
		if got[0] != 0 || got[1] != 7 || !bytes.Equal(got[10:], data[10:]) {
			t.Fatal("data mismatch")
		}
		if n, err := a.Read(got); n != 100 || err != nil {
			t.Fatalf("a.Read = %d, %v", n, err)
		}
	})
}

func TestBlocksWhenFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := PipeWith(Options{Capacity: 16})
		defer a.Close()
		defer b.Close()
		w := goWrite(a, bytes.Repeat([]byte("x"), 40))
		synctest.Wait()
		if !pending(w) || a.BytesWritten() != 16 {
			t.Fatalf("write not blocked at capacity: pending=%v written=%d", pending(w), a.BytesWritten())
		}
		buf := make([]byte, 10)
		if n, err := b.Read(buf); n != 10 || err != nil {
			t.Fatalf("Read = %d, %v", n, err)
		}
		synctest.Wait()
		if !pending(w) || a.BytesWritten() != 26 {
			t.Fatalf("pending=%v written=%d, want blocked at 26", pending(w), a.BytesWritten())
		}
		got, err := io.ReadAll(io.LimitReader(b, 30))
		if err != nil || len(got) != 30 {
			t.Fatalf("ReadAll = %d, %v", len(got), err)
		}
		if r := <-w; r.n != 40 || r.err != nil {
			t.Fatalf("Write = %+v", r)
		}
		// Read returns what is available without waiting for more.
		a.Write([]byte("ab"))
		if n, err := b.Read(make([]byte, 10)); n != 2 || err != nil {
			t.Fatalf("Read = %d, %v", n, err)
		}
	})
}

func TestZeroLength(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe()
		defer b.Close()
		if n, err := a.Write(nil); n != 0 || err != nil {
			t.Fatalf("Write(nil) = %d, %v", n, err)
		}
		if n, err := b.Read(nil); n != 0 || err != nil {
			t.Fatalf("Read(nil) = %d, %v", n, err)
		}
		a.Close()
		if _, err := a.Write(nil); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Write(nil) after Close = %v", err)
		}
	})
}

func TestReadDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe()
		defer a.Close()
		defer b.Close()
		start := time.Now()
		b.SetReadDeadline(start.Add(time.Second))
		_, err := b.Read(make([]byte, 1))
		wantTimeout(t, err)
		if d := time.Since(start); d != time.Second {
			t.Fatalf("timed out after %v", d)
		}
		// Still expired, even with data available.
		a.Write([]byte("x"))
		if n, err := b.Read(make([]byte, 1)); n != 0 {
			t.Fatalf("Read after deadline = %d, %v", n, err)
		}
		// Clearing the deadline makes reads work again.
		b.SetReadDeadline(time.Time{})
		if n, err := b.Read(make([]byte, 1)); n != 1 || err != nil {
			t.Fatalf("Read = %d, %v", n, err)
		}

		// Extending the deadline affects a blocked Read.
		start = time.Now()
		b.SetReadDeadline(start.Add(time.Second))
		r := goRead(b, make([]byte, 1))
		time.Sleep(500 * time.Millisecond)
		b.SetReadDeadline(start.Add(3 * time.Second))
		time.Sleep(time.Second)
		synctest.Wait()
		if !pending(r) {
			t.Fatalf("Read returned early: %+v", <-r)
		}
		wantTimeout(t, (<-r).err)
		if d := time.Since(start); d != 3*time.Second {
			t.Fatalf("timed out after %v", d)
		}

		// Clearing the deadline affects a blocked Read.
		b.SetReadDeadline(time.Now().Add(time.Second))
		r = goRead(b, make([]byte, 1))
		time.Sleep(500 * time.Millisecond)
		b.SetReadDeadline(time.Time{})
		time.Sleep(time.Hour)
		synctest.Wait()
		if !pending(r) {
			t.Fatalf("Read returned: %+v", <-r)
		}
		a.Write([]byte("y"))
		if res := <-r; res.n != 1 || res.err != nil {
			t.Fatalf("Read = %+v", res)
		}

		// A past deadline interrupts a blocked Read at once.
		r = goRead(b, make([]byte, 1))
		synctest.Wait()
		b.SetReadDeadline(time.Now().Add(-time.Second))
		synctest.Wait()
		if pending(r) {
			t.Fatal("Read not interrupted by past deadline")
		}
		wantTimeout(t, (<-r).err)

		// Read deadlines do not affect Write.
		if _, err := b.Write([]byte("z")); err != nil {
			t.Fatal(err)
		}
	})
}

func TestWriteDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := PipeWith(Options{Capacity: 10})
		defer a.Close()
		defer b.Close()
		start := time.Now()
		a.SetDeadline(start.Add(time.Minute))
		n, err := a.Write(make([]byte, 25))
		wantTimeout(t, err)
		if n != 10 || time.Since(start) != time.Minute {
			t.Fatalf("Write = %d after %v; want 10 after 1m", n, time.Since(start))
		}
		// Write deadlines do not affect Read... but SetDeadline set both.
		a.SetReadDeadline(time.Time{})
		b.Write([]byte("q"))
		if n, err := a.Read(make([]byte, 5)); n != 1 || err != nil {
			t.Fatalf("Read = %d, %v", n, err)
		}
		_, err = a.Write([]byte("x"))
		wantTimeout(t, err)
		a.SetWriteDeadline(time.Time{})
		w := goWrite(a, []byte("x"))
		synctest.Wait()
		if !pending(w) {
			t.Fatal("Write into full buffer did not block")
		}
		b.Read(make([]byte, 1))
		if r := <-w; r.n != 1 || r.err != nil {
			t.Fatalf("Write = %+v", r)
		}
	})
}

func TestBlockWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe()
		defer b.Close()
		a.BlockWrites(true)
		w := goWrite(a, []byte("hello"))
		time.Sleep(time.Hour)
		synctest.Wait()
		if !pending(w) || a.BytesWritten() != 0 {
			t.Fatal("Write not blocked by BlockWrites")
		}
		// The other direction is unaffected.
		if _, err := b.Write([]byte("hi")); err != nil {
			t.Fatal(err)
		}
		a.BlockWrites(false)
		if r := <-w; r.n != 5 || r.err != nil {
			t.Fatalf("Write = %+v", r)
		}
		// Read it, so that a's Close below is not a reset (TestCloseWithUnreadResets).
		if n, err := io.ReadFull(a, make([]byte, 2)); n != 2 || err != nil {
			t.Fatalf("Read = %d, %v", n, err)
		}

		// Deadlines interrupt blocked writes.
		a.BlockWrites(true)
		a.SetWriteDeadline(time.Now().Add(time.Second))
		_, err := a.Write([]byte("x"))
		wantTimeout(t, err)
		a.SetWriteDeadline(time.Time{})

		// So does Close.
		w = goWrite(a, []byte("x"))
		synctest.Wait()
		a.Close()
		wantIs(t, (<-w).err, net.ErrClosed)

		// Data written before the stall is still delivered.
		got, err := io.ReadAll(b)
		if string(got) != "hello" || err != nil {
			t.Fatalf("ReadAll = %q, %v", got, err)
		}
	})
}

func TestReset(t *testing.T) {
	for _, resetter := range []string{"writer", "reader"} {
		t.Run(resetter, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := PipeWith(Options{Capacity: 4})
				defer a.Close()
				defer b.Close()
				w := goWrite(a, []byte("too much data"))
				r := goRead(a, make([]byte, 10))
				synctest.Wait()
				if !pending(w) || !pending(r) {
					t.Fatal("calls did not block")
				}
				if resetter == "writer" {
					a.Reset()
				} else {
					b.Reset()
				}
				res := <-w
				wantIs(t, res.err, syscall.ECONNRESET)
				if res.n != 4 {
					t.Fatalf("Write n = %d, want 4", res.n)
				}
				wantIs(t, (<-r).err, syscall.ECONNRESET)
				// Buffered data is discarded; everything fails from now on.
				for _, c := range []*Conn{a, b} {
					_, err := c.Read(make([]byte, 10))
					wantIs(t, err, syscall.ECONNRESET)
					_, err = c.Write([]byte("x"))
					wantIs(t, err, syscall.ECONNRESET)
				}
				// Close still works, and then reports net.ErrClosed.
				if err := a.Close(); err != nil {
					t.Fatal(err)
				}
				_, err := a.Read(make([]byte, 1))
				wantIs(t, err, net.ErrClosed)
			})
		})
	}
}

func TestCloseWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := Pipe()
		defer a.Close()
		defer b.Close()
		r := goRead(b, make([]byte, 10))
		synctest.Wait()
		a.Write([]byte("hi"))
		if err := a.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		if err := a.CloseWrite(); err != nil {
			t.Fatal("second CloseWrite:", err)
		}
		if res := <-r; res.n != 2 || res.err != nil {
			t.Fatalf("Read = %+v", res)
		}
		if n, err := b.Read(make([]byte, 10)); n != 0 || err != io.EOF {
			t.Fatalf("Read = %d, %v; want EOF", n, err)
		}
		_, err := a.Write([]byte("x"))
		wantIs(t, err, io.ErrClosedPipe)
		// The other direction still works.
		b.Write([]byte("yo"))
		b.Close()
		got, err := io.ReadAll(a)
		if string(got) != "yo" || err != nil {
			t.Fatalf("ReadAll = %q, %v", got, err)
		}
	})
}

func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Close interrupts our own pending Read.
		c, d := Pipe()
		cr := goRead(c, make([]byte, 1))
		synctest.Wait()
		c.Close()
		wantIs(t, (<-cr).err, net.ErrClosed)
		d.Close()

		// Nothing unread on a: a clean close, like a TCP FIN.
		a, b := PipeWith(Options{Capacity: 8})
		defer b.Close()
		a.Write([]byte("hello"))
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if err := a.Close(); err != nil {
			t.Fatal("second Close:", err)
		}
		_, err := a.Read(make([]byte, 1))
		wantIs(t, err, net.ErrClosed)
		_, err = a.Write([]byte("x"))
		wantIs(t, err, net.ErrClosed)
		wantIs(t, a.SetDeadline(time.Now()), net.ErrClosed)
		wantIs(t, a.CloseWrite(), net.ErrClosed)
		// The peer drains what was written, then sees EOF; its Writes fail.
		got, err := io.ReadAll(b)
		if string(got) != "hello" || err != nil {
			t.Fatalf("ReadAll = %q, %v", got, err)
		}
		_, err = b.Write([]byte("x"))
		wantIs(t, err, io.ErrClosedPipe)
	})
}

// TestCloseWithUnreadResets: closing an end whose inbound buffer still
// holds unread bytes resets the connection, as a kernel answers such a
// close with RST: the peer loses what it had not read yet and its pending
// and later calls fail with ECONNRESET.
func TestCloseWithUnreadResets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := PipeWith(Options{Capacity: 8})
		defer b.Close()
		a.Write([]byte("hello")) // b never reads it
		bw := goWrite(b, make([]byte, 20))
		synctest.Wait()
		if !pending(bw) {
			t.Fatal("Write did not block")
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		res := <-bw
		wantIs(t, res.err, syscall.ECONNRESET)
		if res.n != 8 {
			t.Fatalf("peer Write n = %d, want 8", res.n)
		}
		got, err := io.ReadAll(b)
		if len(got) != 0 {
			t.Errorf("peer read %q after the reset, want nothing", got)
		}
		wantIs(t, err, syscall.ECONNRESET)
		_, err = a.Read(make([]byte, 1))
		wantIs(t, err, net.ErrClosed)
		_, err = a.Write([]byte("x"))
		wantIs(t, err, net.ErrClosed)
	})
}

// TestCloseAfterDrainIsClean: the lingering close a multiplexer does —
// CloseWrite, read until the peer's EOF, then Close — delivers everything.
func TestCloseAfterDrainIsClean(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := PipeWith(Options{Capacity: 64})
		a.Write([]byte("all of it"))
		b.Write([]byte("noise"))
		if err := a.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(b) // the peer reads to our EOF and closes
		if string(got) != "all of it" || err != nil {
			t.Fatalf("peer ReadAll = %q, %v", got, err)
		}
		b.Close()
		rest, err := io.ReadAll(a)
		if string(rest) != "noise" || err != nil {
			t.Fatalf("ReadAll = %q, %v", rest, err)
		}
		a.Close()
	})
}

func TestAddrs(t *testing.T) {
	a, b := Pipe()
	if a.LocalAddr().Network() != "memconn" || a.LocalAddr().String() != b.RemoteAddr().String() ||
		a.RemoteAddr().String() != b.LocalAddr().String() || a.LocalAddr().String() == a.RemoteAddr().String() {
		t.Fatalf("bad default addrs: %v %v", a.LocalAddr(), a.RemoteAddr())
	}
	l := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
	r := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2}
	a, b = PipeWith(Options{LocalAddr: l, RemoteAddr: r})
	if a.LocalAddr() != l || a.RemoteAddr() != r || b.LocalAddr() != r || b.RemoteAddr() != l {
		t.Fatal("custom addrs not used")
	}
}

// TestConcurrent streams random-sized chunks in both directions through a
// small buffer from several goroutines per end and checks every byte arrives.
func TestConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := PipeWith(Options{Capacity: 100})
		const writers, perWriter = 4, 20000
		var wg sync.WaitGroup
		sums := make(chan [2]int64, 4)
		for _, ends := range [][2]*Conn{{a, b}, {b, a}} {
			w, r := ends[0], ends[1]
			var wwg sync.WaitGroup
			for i := range writers {
				wwg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(i), 1))
					for left := perWriter; left > 0; {
						buf := make([]byte, min(left, 1+rng.IntN(300)))
						for j := range buf {
							buf[j] = byte(rng.IntN(256))
						}
						if _, err := w.Write(buf); err != nil {
							t.Error(err)
							return
						}
						left -= len(buf)
					}
				})
			}
			wg.Go(func() { wwg.Wait(); w.CloseWrite() })
			for range 2 {
				wg.Go(func() {
					var n, sum int64
					buf := make([]byte, 1+rand.IntN(200))
					for {
						k, err := r.Read(buf)
						for _, c := range buf[:k] {
							sum += int64(c)
						}
						n += int64(k)
						if err == io.EOF {
							break
						} else if err != nil {
							t.Error(err)
							break
						}
					}
					sums <- [2]int64{n, sum}
				})
			}
		}
		wg.Wait()
		close(sums)
		var total int64
		for s := range sums {
			total += s[0]
		}
		if total != 2*writers*perWriter {
			t.Fatalf("received %d bytes, want %d", total, 2*writers*perWriter)
		}
		if a.BytesWritten() != writers*perWriter || b.BytesWritten() != writers*perWriter {
			t.Fatalf("BytesWritten = %d, %d", a.BytesWritten(), b.BytesWritten())
		}
		a.Close()
		b.Close()
	})
}

// TestStreamIntegrity checks ordering through the ring buffer's wraparound.
func TestStreamIntegrity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := PipeWith(Options{Capacity: 4099})
		want := make([]byte, 1<<20)
		for i := range want {
			want[i] = byte(rand.IntN(256))
		}
		go func() {
			for rest := want; len(rest) > 0; {
				k := min(len(rest), 1+rand.IntN(9000))
				if _, err := a.Write(rest[:k]); err != nil {
					t.Error(err)
				}
				rest = rest[k:]
			}
			a.Close()
		}()
		var got []byte
		buf := make([]byte, 7000)
		for {
			n, err := b.Read(buf[:1+rand.IntN(len(buf))])
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatal("stream corrupted")
		}
		b.Close()
	})
}
