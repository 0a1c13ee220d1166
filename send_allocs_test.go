package yamux_test

import (
	"io"
	"testing"
)

// TestSendSteadyStateAllocs: once warm, a Write allocates nothing per
// frame, whether its frames are copied into the ring (small and 64 KiB
// writes) or written from the caller's slice because they do not fit (a
// 512 KiB write: twice the ring), over TCP (writev) and over net.Pipe (one
// Write per batch; memconn is left out: its own waits allocate). The
// receiving side is counted too: it is the same process.
func TestSendSteadyStateAllocs(t *testing.T) {
	if recvRaceEnabled() {
		t.Skip("allocation counts are exact only without -race")
	}
	for _, tr := range []transport{{"tcp", tcpPair}, {"pipe", pipePair}} {
		for _, size := range []int{100, 64 * kib, 512 * kib} {
			cfg := testConfig()
			cfg.EnableKeepAlive = false
			p := startSessions(t, tr.pair, cfg, cfg)
			w, r := streamPair(t, p)
			msg := patternBytes(2, size)
			buf := make([]byte, size)
			start, done := make(chan struct{}), make(chan error)
			go func() {
				for range start {
					_, err := io.ReadFull(r, buf)
					done <- err
				}
			}()
			cycle := func() {
				start <- struct{}{}
				if _, err := w.Write(msg); err != nil {
					t.Fatal(err)
				}
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			}
			for range 50 {
				cycle()
			}
			if got := testing.AllocsPerRun(100, cycle); got != 0 {
				t.Errorf("%s, %d-byte writes: %v allocations per Write sent and read, want 0", tr.name, size, got)
			}
			close(start)
			p.client.Close()
			p.server.Close()
		}
	}
}
