package noise_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/nettest"

	"github.com/yamuxgo/yamux/noise"
)

// recordConn records every Write to the underlying conn once armed.
type recordConn struct {
	net.Conn
	mu     sync.Mutex
	armed  bool
	writes [][]byte
	nw     atomic.Int64
	nbytes atomic.Int64
}

func (r *recordConn) Write(p []byte) (int, error) {
	r.mu.Lock()
	if r.armed {
		r.writes = append(r.writes, bytes.Clone(p))
	}
	r.mu.Unlock()
	r.nw.Add(1)
	r.nbytes.Add(int64(len(p)))
	return r.Conn.Write(p)
}

func (r *recordConn) arm() {
	r.mu.Lock()
	r.armed, r.writes = true, nil
	r.mu.Unlock()
}

// frames splits one recorded write into its message lengths.
func frames(tb testing.TB, b []byte) []int {
	tb.Helper()
	var out []int
	for len(b) > 0 {
		if len(b) < 2 {
			tb.Fatalf("write ends inside a length prefix")
		}
		n := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+n {
			tb.Fatalf("write ends inside a message: %d of %d bytes", len(b)-2, n)
		}
		out = append(out, n)
		b = b[2+n:]
	}
	return out
}

func TestTransfer(t *testing.T) {
	sizes := []int{1, 100, noise.MaxPlaintextSize - 1, noise.MaxPlaintextSize, noise.MaxPlaintextSize + 1, 1<<20 + 7}
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			ci, cr := securePair(t, tr.pair)
			for _, n := range sizes {
				// Both directions at once: the handshake must leave no
				// ordering between the two sides.
				var wg sync.WaitGroup
				for dir, c := range []*noise.Conn{ci, cr} {
					data := pattern(n, byte(dir))
					wg.Go(func() {
						if w, err := c.Write(data); err != nil || w != n {
							t.Errorf("Write(%d) = %d, %v", n, w, err)
						}
					})
				}
				for dir, c := range []*noise.Conn{cr, ci} {
					got := make([]byte, n)
					if _, err := io.ReadFull(c, got); err != nil {
						t.Fatalf("size %d: read: %v", n, err)
					}
					if sha256.Sum256(got) != sha256.Sum256(pattern(n, byte(dir))) {
						t.Fatalf("size %d direction %d: data differs", n, dir)
					}
				}
				wg.Wait()
			}
			if n, err := ci.Write(nil); n != 0 || err != nil {
				t.Errorf("Write(nil) = %d, %v", n, err)
			}
			if n, err := ci.Read(nil); n != 0 || err != nil {
				t.Errorf("Read(nil) = %d, %v", n, err)
			}
		})
	}
}

// securePairRecorded is securePair with the initiator's underlying conn
// recorded.
func securePairRecorded(t *testing.T) (*noise.Conn, *noise.Conn, *recordConn) {
	t.Helper()
	a, b := tcpPair(t)
	rec := &recordConn{Conn: a}
	kr := identity(t, 2)
	i, r := handshake(t, rec, b, noise.Config{Identity: identity(t, 1)}, noise.Config{Identity: kr}, kr.ID())
	if i.err != nil || r.err != nil {
		t.Fatalf("handshake: %v, %v", i.err, r.err)
	}
	rec.arm()
	return i.conn, r.conn, rec
}

// WriteBuffers packs across buffer boundaries into full messages, eight per
// underlying Write; Write does the same for one large buffer.
func TestWriteBatching(t *testing.T) {
	const full = noise.MaxMessageSize
	const p = noise.MaxPlaintextSize
	// A yamux-like batch: 12-byte headers before 64 KiB payloads.
	yamuxBatch := func(frames int) [][]byte {
		var bufs [][]byte
		for i := range frames {
			bufs = append(bufs, pattern(12, byte(i)), pattern(64<<10, byte(i)))
		}
		return bufs
	}
	cases := []struct {
		name   string
		bufs   [][]byte
		single bool
		want   [][]int // per underlying Write, the message lengths
	}{
		{"one small buffer", [][]byte{pattern(10, 1)}, false, [][]int{{26}}},
		{"small buffers share a message", [][]byte{pattern(12, 1), pattern(12, 2), nil, pattern(100, 3)}, false, [][]int{{140}}},
		{"yamux batch of four frames", yamuxBatch(4), false, [][]int{{full, full, full, full, 4*(12+64<<10) - 4*p + 16}}},
		{"messages ending on buffer ends and inside them", [][]byte{pattern(p, 1), nil, pattern(p+5, 2), pattern(3, 3)}, false, [][]int{{full, full, 24}}},
		{"eight full messages in one write", [][]byte{pattern(8*p, 1)}, false, [][]int{{full, full, full, full, full, full, full, full}}},
		{"nine messages in two writes", [][]byte{pattern(8*p, 1), pattern(1, 2)}, false, [][]int{{full, full, full, full, full, full, full, full}, {17}}},
		{"Write of 1 MiB", [][]byte{pattern(1<<20, 1)}, true, [][]int{
			{full, full, full, full, full, full, full, full},
			{full, full, full, full, full, full, full, full},
			{1<<20 - 16*p + 16},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ci, cr, rec := securePairRecorded(t)
			var want []byte
			for _, b := range c.bufs {
				want = append(want, b...)
			}
			done := make(chan error, 1)
			go func() {
				var err error
				var n int64
				if c.single {
					var m int
					m, err = ci.Write(c.bufs[0])
					n = int64(m)
				} else {
					n, err = ci.WriteBuffers(c.bufs)
				}
				if err == nil && n != int64(len(want)) {
					err = errors.New("short write")
				}
				done <- err
			}()
			got := make([]byte, len(want))
			if _, err := io.ReadFull(cr, got); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatal("data differs")
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if len(rec.writes) != len(c.want) {
				t.Fatalf("%d underlying writes, want %d", len(rec.writes), len(c.want))
			}
			for i, w := range rec.writes {
				if got := frames(t, w); !equalInts(got, c.want[i]) {
					t.Errorf("write %d: messages %v, want %v", i, got, c.want[i])
				}
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// rawWrite sends bytes on the secured conn's underlying conn, bypassing
// the record layer.
func rawWrite(t *testing.T, c *noise.Conn, b []byte) {
	t.Helper()
	if _, err := c.NetConn().Write(b); err != nil {
		t.Fatal(err)
	}
}

// A broken record fails the reader with a typed error, every later Read
// returns the same error, and nothing sent after the break is delivered.
func TestReadFailuresAreSticky(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(t *testing.T, w *noise.Conn)
		want   []error
	}{
		{"zero length prefix", func(t *testing.T, w *noise.Conn) { rawWrite(t, w, []byte{0, 0}) }, []error{noise.ErrShortMessage}},
		{"length below the tag", func(t *testing.T, w *noise.Conn) { rawWrite(t, w, append([]byte{0, 15}, make([]byte, 15)...)) }, []error{noise.ErrShortMessage}},
		{"forged message", func(t *testing.T, w *noise.Conn) { rawWrite(t, w, append([]byte{0, 40}, pattern(40, 1)...)) }, []error{noise.ErrDecrypt}},
		{"truncated then closed", func(t *testing.T, w *noise.Conn) {
			rawWrite(t, w, append([]byte{0, 100}, pattern(50, 1)...))
			w.NetConn().(*net.TCPConn).CloseWrite()
		}, []error{noise.ErrTruncated, io.ErrUnexpectedEOF}},
		{"closed inside the prefix", func(t *testing.T, w *noise.Conn) {
			rawWrite(t, w, []byte{0})
			w.NetConn().(*net.TCPConn).CloseWrite()
		}, []error{noise.ErrTruncated}},
		{"replayed message", func(t *testing.T, w *noise.Conn) {
			// A message sealed with nonce 0 again arrives as message 1.
			noise.SetNonces(w, 0, 0)
			w.Write([]byte("replay"))
		}, []error{noise.ErrDecrypt}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w, r := securePair(t, tcpPair)
			if _, err := w.Write([]byte("before")); err != nil {
				t.Fatal(err)
			}
			c.break_(t, w)
			w.Write([]byte("after")) // may fail once the stream is closed
			buf := make([]byte, 100)
			n, err := io.ReadFull(r, buf[:6])
			if err != nil || string(buf[:n]) != "before" {
				t.Fatalf("first read %q, %v", buf[:n], err)
			}
			n, err = r.Read(buf)
			for _, want := range c.want {
				if n != 0 || !errors.Is(err, want) {
					t.Errorf("Read = %d, %v; want 0, %v", n, err, want)
				}
			}
			for range 3 {
				n2, err2 := r.Read(buf)
				if n2 != 0 || err2 != err {
					t.Errorf("later Read = %d, %v; want the same error %v", n2, err2, err)
				}
			}
		})
	}
}

// A clean close at a message boundary is io.EOF after all the data.
func TestReadEOF(t *testing.T) {
	w, r := securePair(t, tcpPair)
	w.Write([]byte("last words"))
	w.Close()
	got, err := io.ReadAll(r)
	if err != nil || string(got) != "last words" {
		t.Fatalf("ReadAll = %q, %v", got, err)
	}
	if _, err := r.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("Read after EOF = %v", err)
	}
	if _, err := w.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close = %v, want net.ErrClosed", err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close = %v, want net.ErrClosed", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestNonceExhaustion(t *testing.T) {
	w, r := securePair(t, tcpPair)
	// The last usable nonce is 2^64-2; 2^64-1 is reserved.
	noise.SetNonces(w, math.MaxUint64-1, 0)
	noise.SetNonces(r, 0, math.MaxUint64-1)
	if _, err := w.Write([]byte("last")); err != nil {
		t.Fatalf("Write with the last nonce: %v", err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(r, buf); err != nil || string(buf) != "last" {
		t.Fatalf("read %q, %v", buf, err)
	}
	_, err := w.Write([]byte("one more"))
	if !errors.Is(err, noise.ErrNonceExhausted) {
		t.Fatalf("Write past the last nonce = %v, want ErrNonceExhausted", err)
	}
	if _, err2 := w.Write([]byte("x")); err2 != err {
		t.Errorf("later Write = %v, want the same error", err2)
	}
	// The reader refuses a message beyond the last nonce too.
	w2, r2 := securePair(t, tcpPair)
	noise.SetNonces(r2, 0, math.MaxUint64)
	w2.Write([]byte("x"))
	if _, err := r2.Read(buf); !errors.Is(err, noise.ErrNonceExhausted) {
		t.Errorf("Read past the last nonce = %v, want ErrNonceExhausted", err)
	}
}

// One reader, one writer per side, and a concurrent Close unblocking a
// pending Read.
func TestConcurrentReadWrite(t *testing.T) {
	ci, cr := securePair(t, tcpPair)
	const n = 4 << 20
	var wg sync.WaitGroup
	for dir, c := range []*noise.Conn{ci, cr} {
		wg.Go(func() {
			data := pattern(n, byte(dir))
			for off := 0; off < n; off += 10000 {
				if _, err := c.Write(data[off:min(off+10000, n)]); err != nil {
					t.Errorf("write: %v", err)
					return
				}
			}
		})
		peerConn := cr
		if dir == 1 {
			peerConn = ci
		}
		wg.Go(func() {
			got := make([]byte, n)
			if _, err := io.ReadFull(peerConn, got); err != nil {
				t.Errorf("read: %v", err)
				return
			}
			if !bytes.Equal(got, pattern(n, byte(dir))) {
				t.Errorf("direction %d: data differs", dir)
			}
		})
	}
	wg.Wait()
	readErr := make(chan error, 1)
	go func() {
		_, err := ci.Read(make([]byte, 10))
		readErr <- err
	}()
	ci.Close()
	if err := <-readErr; err == nil {
		t.Error("Read blocked across Close returned no error")
	}
}

// The net.Conn contract, deadlines included, on a secured pair over
// net.Pipe (whose Write either delivers or times out before sending, so a
// write timeout leaves the stream usable, which the suite requires).
func TestNettestConn(t *testing.T) {
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		a, b := net.Pipe()
		kr := identity(t, 2)
		i, r := handshake(t, a, b, noise.Config{Identity: identity(t, 1)}, noise.Config{Identity: kr}, kr.ID())
		if i.err != nil || r.err != nil {
			return nil, nil, nil, errors.Join(i.err, r.err)
		}
		return i.conn, r.conn, func() { i.conn.Close(); r.conn.Close() }, nil
	})
}

// The steady state allocates nothing per message, on either path of Read.
// The race detector makes sync.Pool drop items at random, so this runs
// without it (the Makefile's test target runs it so).
func TestNoAllocsPerMessage(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector; run without -race")
	}
	ci, cr := securePair(t, tcpPair)
	for _, c := range []struct {
		name        string
		write, read int
	}{
		{"small message, small reads", 100, 100},
		{"full message into a large buffer", noise.MaxPlaintextSize, 64 << 10},
		{"full message read in pieces", noise.MaxPlaintextSize, 4096},
		{"two messages per write", 2 * noise.MaxPlaintextSize, 64 << 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := pattern(c.write, 1)
			in := make([]byte, c.read)
			bufs := [][]byte{out[:c.write/2], out[c.write/2:]}
			round := func() {
				if _, err := ci.WriteBuffers(bufs); err != nil {
					t.Fatal(err)
				}
				for left := c.write; left > 0; {
					n, err := cr.Read(in[:min(len(in), left)])
					if err != nil {
						t.Fatal(err)
					}
					left -= n
				}
			}
			round() // warm the pools
			if allocs := testing.AllocsPerRun(50, round); allocs != 0 {
				t.Errorf("%v allocations per round trip, want 0", allocs)
			}
		})
	}
}

// splitConn holds back the second half of each Write once armed, until
// released: the reader sees a message cut in two.
type splitConn struct {
	net.Conn
	armed   atomic.Bool
	release chan struct{}
}

func (c *splitConn) Write(p []byte) (int, error) {
	if !c.armed.Load() || len(p) < 2 {
		return c.Conn.Write(p)
	}
	half := len(p) / 2
	if n, err := c.Conn.Write(p[:half]); err != nil {
		return n, err
	}
	<-c.release
	n, err := c.Conn.Write(p[half:])
	return half + n, err
}

// TestReadResumesAfterDeadline: a Read that its read deadline interrupts
// in the middle of a message consumes nothing it does not return: once the
// rest arrives, the next Read returns the whole message. This is what
// ReadInterruptible promises a Yamux session, which interrupts a stream's
// Read that reads the conn itself; it holds over TCP and not over a conn
// the Noise conn cannot vouch for.
func TestReadResumesAfterDeadline(t *testing.T) {
	a, b := tcpPair(t)
	sc := &splitConn{Conn: a, release: make(chan struct{})}
	kr := identity(t, 2)
	i, r := handshake(t, sc, b, noise.Config{Identity: identity(t, 1)}, noise.Config{Identity: kr}, kr.ID())
	if i.err != nil || r.err != nil {
		t.Fatalf("handshake: %v, %v", i.err, r.err)
	}
	w, rd := i.conn, r.conn
	if !rd.ReadInterruptible() {
		t.Fatal("ReadInterruptible over TCP = false, want true")
	}
	if pw, _ := securePair(t, pipePair); pw.ReadInterruptible() {
		t.Fatal("ReadInterruptible over net.Pipe = true, want false (the Noise conn does not know the pipe)")
	}
	msg := pattern(5000, 3)
	sc.armed.Store(true)
	wrote := make(chan error, 1)
	go func() { _, err := w.Write(msg); wrote <- err }()
	buf := make([]byte, len(msg))
	rd.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := rd.Read(buf); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read with half a message here = %d, %v; want 0, a deadline error", n, err)
	}
	close(sc.release)
	rd.SetReadDeadline(time.Time{})
	if _, err := io.ReadFull(rd, buf); err != nil {
		t.Fatalf("Read after the deadline: %v", err)
	}
	if !bytes.Equal(buf, msg) {
		t.Fatal("the message read after the deadline differs from the one sent")
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
}
