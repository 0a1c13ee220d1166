package yamux

import (
	"bytes"
	"io"
	"testing"
	"testing/synctest"
)

// TestGrowthHeldWhileDataUnread: a stream that ends with data unread keeps
// its window growth reserved from the session budget until the data is
// read (spec.md §4.4), so that the budget bounds what is buffered; and
// the session's set of such streams empties as they settle.
func TestGrowthHeldWhileDataUnread(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server := memSessions(t)
		st, err := client.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		sent := bytes.Repeat([]byte("g"), 4096)
		if _, err := st.Write(sent); err != nil {
			t.Fatal(err)
		}
		sst, err := server.AcceptStream()
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		// As if the window had grown by 1 MiB: reserved from the budget.
		const grown = 1 << 20
		if !server.growWindow(grown) {
			t.Fatal("the budget refused 1 MiB")
		}
		sst.mu.Lock()
		sst.grown = grown
		sst.mu.Unlock()
		before := server.budget.Load()
		st.CloseWrite()
		sst.CloseWrite()
		synctest.Wait()
		if s := sst.State(); s != StateFullyClosed {
			t.Fatalf("server stream after both FINs: %v, want FullyClosed", s)
		}
		if got := server.budget.Load(); got != before {
			t.Fatalf("budget after the stream ended with %d bytes unread: %d, want %d (growth still held)", len(sent), got, before)
		}
		server.mu.Lock()
		held := len(server.unread)
		server.mu.Unlock()
		if held != 1 {
			t.Fatalf("%d streams in the session's unread set, want 1", held)
		}
		if got, err := io.ReadAll(sst); err != nil || !bytes.Equal(got, sent) {
			t.Fatalf("ReadAll = %d bytes, %v; want the %d sent", len(got), err, len(sent))
		}
		if got := server.budget.Load(); got != before+grown {
			t.Fatalf("budget after reading everything: %d, want %d (growth returned)", got, before+grown)
		}
		server.mu.Lock()
		held = len(server.unread)
		server.mu.Unlock()
		if held != 0 {
			t.Fatalf("%d streams in the session's unread set after reading, want 0", held)
		}
	})
}

// TestClosedReadDoesNotGrowWindow: a stream whose application called
// CloseRead discards what arrives and credits it back at once; its window
// must not grow, or it takes budget from streams that read. In a bubble
// the RTT measures zero and every second update grows a window that is
// read, which the control stream shows.
func TestClosedReadDoesNotGrowWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server := memSessions(t)
		grownAfter := func(closeRead bool) uint32 {
			st, err := client.OpenStream()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
			sst, err := server.AcceptStream()
			if err != nil {
				t.Fatal(err)
			}
			if closeRead {
				sst.CloseRead()
			} else {
				go io.Copy(io.Discard, sst)
			}
			if _, err := st.Write(make([]byte, 8<<20)); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			sst.mu.Lock()
			defer sst.mu.Unlock()
			return sst.recv.size
		}
		if size := grownAfter(false); size <= initialWindow {
			t.Fatalf("a stream read as fast as 8 MiB came: window %d, want it grown past %d (else this test shows nothing)", size, initialWindow)
		}
		if size := grownAfter(true); size != initialWindow {
			t.Fatalf("after CloseRead and 8 MiB discarded: window %d, want the initial %d", size, initialWindow)
		}
	})
}
