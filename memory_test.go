package yamux_test

import (
	"io"
	"runtime"
	"runtime/metrics"
	"testing"

	"github.com/yamuxgo/yamux"
)

// TestClosedSessionReleasesBuffers: an application may keep a *Session
// after it ended (in a map of peers, say). The session's read buffer
// (64 KiB) and send ring (256 KiB) must not stay pinned by it: the soak
// test kept every server session it ever served, and its heap grew by
// about 300 KiB per ended session until this was fixed.
func TestClosedSessionReleasesBuffers(t *testing.T) {
	const pairs = 40
	heap := func() int64 {
		runtime.GC()
		runtime.GC()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		metrics.Read(s)
		return int64(s[0].Value.Uint64())
	}
	kept := make([]*yamux.Session, 0, 2*pairs)
	before := heap()
	for range pairs {
		c1, c2 := memPair(t)
		client, err := yamux.Client(c1, testConfig())
		if err != nil {
			t.Fatal(err)
		}
		server, err := yamux.Server(c2, testConfig())
		if err != nil {
			t.Fatal(err)
		}
		// Move some data so both the send ring and the read buffer are used.
		st, err := client.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Write(make([]byte, 100<<10)); err != nil {
			t.Fatal(err)
		}
		st.CloseWrite()
		sst, err := server.AcceptStream()
		if err != nil {
			t.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, sst); n != 100<<10 || err != nil {
			t.Fatalf("copied %d, %v; want %d, nil", n, err, 100<<10)
		}
		client.Close()
		server.Close()
		kept = append(kept, client, server)
	}
	per := (heap() - before) / int64(len(kept))
	runtime.KeepAlive(kept)
	t.Logf("heap retained per closed session: %d B", per)
	if per > 32<<10 {
		t.Errorf("a closed session still holds %d B of heap, want < 32 KiB (read buffer and send ring released)", per)
	}
}

// TestSessionMemoryFollowsUse: what a new session allocates does not grow
// with its configured limits (a go-libp2p host, or a server expecting
// bursts, raises AcceptBacklog to tens of thousands), only with what it
// holds: the accept queue grows as streams wait.
func TestSessionMemoryFollowsUse(t *testing.T) {
	allocated := func(cfg *yamux.Config) uint64 {
		var ms runtime.MemStats
		const n = 20
		sessions := make([]*yamux.Session, 0, n)
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		peers := make([]io.Closer, 0, n)
		for range n {
			c, peer := memPair(t)
			s, err := yamux.Server(c, cfg)
			if err != nil {
				t.Fatal(err)
			}
			sessions = append(sessions, s)
			peers = append(peers, peer)
		}
		runtime.ReadMemStats(&ms)
		for i, s := range sessions {
			peers[i].Close() // the session's Close need not linger
			s.Close()
		}
		return (ms.TotalAlloc - before) / n
	}
	allocated(testConfig()) // fill the pools a session's buffers come from
	small := allocated(testConfig())
	cfg := testConfig()
	cfg.AcceptBacklog = 1 << 15
	cfg.MaxIncomingStreams = 1 << 15
	large := allocated(cfg)
	t.Logf("allocated per new session: %d B with the defaults, %d B with AcceptBacklog and MaxIncomingStreams 32,768", small, large)
	// The margin covers pooled buffers a collection may have emptied (a
	// 64 KiB read buffer over 20 sessions); a queue sized by the bound
	// would be 256 KiB per session.
	if large > small+32<<10 {
		t.Errorf("a session with a backlog of 32,768 allocates %d B more than one with the default, want about the same", large-small)
	}
}
