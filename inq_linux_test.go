package yamux

import (
	"io"
	"net"
	"testing"
	"time"
)

// TestInqProbe: the probe a turn's end uses (inq_linux.go) sees the bytes
// a peer sent while nobody has read them, and not once they are read; a
// conn that is not a socket gets none.
func TestInqProbe(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			c, s := socketPair(t, network)
			p := newInqProbe(s)
			if p == nil {
				t.Fatalf("no probe for a %s conn", network)
			}
			if p.pending() {
				t.Fatal("unread bytes before any were sent")
			}
			if _, err := c.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for !p.pending() {
				if time.Now().After(deadline) {
					t.Fatal("5 bytes sent, and the probe never saw them")
				}
				time.Sleep(time.Millisecond) // polling the kernel: no event to wait on
			}
			if _, err := io.ReadFull(s, make([]byte, 5)); err != nil {
				t.Fatal(err)
			}
			if p.pending() {
				t.Fatal("unread bytes after all were read")
			}
			if a := testing.AllocsPerRun(100, func() { p.pending() }); a != 0 {
				t.Errorf("a probe allocates %.1f times, want 0", a)
			}
		})
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if newInqProbe(a) != nil {
		t.Error("a probe for net.Pipe, which is not a socket")
	}
}
