package noise_test

import (
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/noise"
)

// sessions runs yamux over a secured pair: the initiator is the client.
func sessions(t *testing.T, ci, cr *noise.Conn) (client, server *yamux.Session) {
	t.Helper()
	client, err := yamux.Client(ci, nil)
	if err != nil {
		t.Fatal(err)
	}
	server, err = yamux.Server(cr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// serveChecksums answers every stream with the SHA-256 of what it read.
func serveChecksums(server *yamux.Session) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			st, err := server.AcceptStream()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer st.Close()
				h := sha256.New()
				if _, err := io.Copy(h, st); err != nil {
					return
				}
				st.Write(h.Sum(nil))
			})
		}
	})
	return &wg
}

// Yamux runs over Noise end to end, and closing the session closes the
// Noise conn and the TCP conn under it.
func TestYamuxOverNoise(t *testing.T) {
	a, b := tcpPair(t)
	kr := identity(t, 2)
	i, r := handshake(t, a, b, noise.Config{Identity: identity(t, 1), Muxers: []string{yamuxID}},
		noise.Config{Identity: kr, Muxers: []string{yamuxID}}, kr.ID())
	if i.err != nil || r.err != nil {
		t.Fatal(i.err, r.err)
	}
	client, server := sessions(t, i.conn, r.conn)
	served := serveChecksums(server)

	var wg sync.WaitGroup
	for n := range 8 {
		wg.Go(func() {
			st, err := client.OpenStream()
			if err != nil {
				t.Error(err)
				return
			}
			defer st.Close()
			data := pattern(1<<20+n, byte(n))
			if _, err := st.Write(data); err != nil {
				t.Errorf("stream %d: write: %v", n, err)
				return
			}
			st.CloseWrite()
			sum, err := io.ReadAll(st)
			if want := sha256.Sum256(data); err != nil || string(sum) != string(want[:]) {
				t.Errorf("stream %d: checksum %x, %v; want %x", n, sum, err, want)
			}
		})
	}
	wg.Wait()

	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := i.conn.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Noise conn after session Close: Write = %v, want net.ErrClosed", err)
	}
	if _, err := a.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("TCP conn after session Close: Write = %v, want net.ErrClosed", err)
	}
	<-server.CloseChan()
	if _, err := server.AcceptStream(); !errors.Is(err, yamux.ErrSessionShutdown) {
		t.Errorf("server AcceptStream after the client left = %v", err)
	}
	served.Wait()
}

// A flipped ciphertext bit under a yamux session ends that session with an
// error wrapping ErrDecrypt; its streams fail, AcceptStream unblocks, and a
// stream never sees a byte that was not sent.
func TestYamuxOverNoiseCorruption(t *testing.T) {
	ci, cr, proxy := proxiedPair(t)
	client, server := sessions(t, ci, cr)
	// Let the session start-up traffic pass, then damage the data.
	st, err := client.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	// OpenStream sends the SYN at once, so the stream is accepted before
	// any of its data is damaged.
	srv, err := server.AcceptStream()
	if err != nil {
		t.Fatal(err)
	}
	proxy.flipAt.Store(proxy.forwarded.Load() + 3*fullFrame + 500)
	data := pattern(4<<20, 7)
	go func() {
		st.Write(data)
		st.CloseWrite()
	}()
	got, rerr := io.ReadAll(srv)
	if rerr == nil {
		t.Fatal("stream read the whole transfer through a corrupted record")
	}
	if string(got) != string(data[:len(got)]) {
		t.Fatal("the stream delivered bytes that were not sent")
	}
	<-server.CloseChan()
	if err := server.Err(); !errors.Is(err, noise.ErrDecrypt) || !errors.Is(err, yamux.ErrSessionShutdown) {
		t.Errorf("server session error %v, want ErrDecrypt and ErrSessionShutdown", err)
	}
	if _, err := server.AcceptStream(); !errors.Is(err, yamux.ErrSessionShutdown) {
		t.Errorf("AcceptStream after the failure = %v", err)
	}
	// The client's side ends too: the server closed the TCP conn.
	<-client.CloseChan()
}
