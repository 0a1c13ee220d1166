package perf_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/memconn"
	"github.com/yamuxgo/yamux/perf"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// sessions returns the two ends of a Yamux session over an in-memory conn.
func sessions(t testing.TB) (client, server *yamux.Session) {
	t.Helper()
	a, b := memconn.Pipe()
	client, err := yamux.Client(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	server, err = yamux.Server(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		client.Close()
		server.Close()
	})
	return client, server
}

type served struct {
	res perf.ServeResult
	err error
}

// serveOne accepts one stream on s and serves one exchange on it.
func serveOne(t testing.TB, s *yamux.Session, opts perf.ServeOptions) <-chan served {
	t.Helper()
	done := make(chan served, 1)
	go func() {
		st, err := s.AcceptStream()
		if err != nil {
			done <- served{err: err}
			return
		}
		defer st.Close()
		res, err := perf.Serve(context.Background(), st, opts)
		done <- served{res, err}
	}()
	return done
}

func TestExchangeCountsAndVerifiesBothDirections(t *testing.T) {
	for _, tc := range []struct {
		name             string
		upload, download uint64
	}{
		{"both", 3<<20 + 17, 5<<20 + 3},
		{"upload only", 2 << 20, 0},
		{"download only", 0, 2<<20 + 1},
		{"empty", 0, 0},
		{"one byte each", 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, s := sessions(t)
			var sc, cc perf.Counters
			srv := serveOne(t, s, perf.ServeOptions{Verify: true, Counters: &sc})
			st, err := c.OpenStream()
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			res, err := perf.Run(context.Background(), st, perf.Request{
				Upload: tc.upload, Download: tc.download, Verify: true, Counters: &cc,
			})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			got := <-srv
			if got.err != nil {
				t.Fatalf("Serve: %v", got.err)
			}
			if res.Uploaded != tc.upload || res.Downloaded != tc.download || res.Verified != tc.download {
				t.Errorf("client result up %d down %d verified %d, want %d %d %d",
					res.Uploaded, res.Downloaded, res.Verified, tc.upload, tc.download, tc.download)
			}
			if got.res.Requested != tc.download || got.res.Uploaded != tc.upload ||
				got.res.Downloaded != tc.download || got.res.Verified != tc.upload {
				t.Errorf("server result %+v, want requested=downloaded=%d uploaded=verified=%d", got.res, tc.download, tc.upload)
			}
			if cc.Uploaded.Load() != tc.upload || cc.Downloaded.Load() != tc.download ||
				sc.Uploaded.Load() != tc.upload || sc.Downloaded.Load() != tc.download {
				t.Errorf("counters client %d/%d server %d/%d, want %d/%d", cc.Uploaded.Load(), cc.Downloaded.Load(),
					sc.Uploaded.Load(), sc.Downloaded.Load(), tc.upload, tc.download)
			}
			if res.Cut {
				t.Error("Cut is true for a sized download")
			}
			if res.Responded.Before(res.Start) || res.End.Before(res.Responded) {
				t.Errorf("times out of order: start %v responded %v end %v", res.Start, res.Responded, res.End)
			}
		})
	}
}

// TestWireFormat checks the request bytes against the spec by hand: an
// 8-byte big-endian size, the upload, then EOF.
func TestWireFormat(t *testing.T) {
	a, b := memconn.Pipe()
	defer a.Close()
	defer b.Close()
	errc := make(chan error, 1)
	go func() {
		_, err := perf.Run(context.Background(), a, perf.Request{Upload: 3, Download: 8})
		errc <- err
	}()
	got, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 11 || binary.BigEndian.Uint64(got) != 8 {
		t.Fatalf("request bytes %x, want 8-byte size 8 then 3 upload bytes", got)
	}
	// Answer with 8 bytes and EOF, as any server would.
	if _, err := b.Write(make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	b.CloseWrite()
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// rawServer answers a request on conn with body, then EOF, whatever was asked.
func rawServer(t *testing.T, conn *memconn.Conn, body []byte) {
	t.Helper()
	go func() {
		var hdr [8]byte
		if _, err := io.ReadFull(conn, hdr[:]); err != nil {
			return
		}
		io.Copy(io.Discard, conn)
		conn.Write(body)
		conn.CloseWrite()
	}()
}

func TestMisbehavingServers(t *testing.T) {
	correct := make([]byte, 1000)
	// Learn the pattern from our own server, so the test does not depend
	// on how it is generated.
	{
		a, b := memconn.Pipe()
		go func() {
			perf.Serve(context.Background(), b, perf.ServeOptions{})
			b.Close()
		}()
		a.Write(binary.BigEndian.AppendUint64(nil, 1000))
		a.CloseWrite()
		if _, err := io.ReadFull(a, correct); err != nil {
			t.Fatal(err)
		}
		a.Close()
	}
	corrupted := append([]byte(nil), correct...)
	corrupted[777] ^= 1
	for _, tc := range []struct {
		name string
		body []byte
		want error
		at   uint64
	}{
		{"short", correct[:999], perf.ErrShortDownload, 0},
		{"long", append(append([]byte(nil), correct...), 0), perf.ErrLongDownload, 0},
		{"corrupt", corrupted, perf.ErrCorrupt, 777},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := memconn.Pipe()
			defer a.Close()
			defer b.Close()
			rawServer(t, b, tc.body)
			_, err := perf.Run(context.Background(), a, perf.Request{Download: 1000, Verify: true})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Run: %v, want %v", err, tc.want)
			}
			var ce *perf.CorruptError
			if errors.As(err, &ce) && (ce.Offset != tc.at || ce.Direction != "download") {
				t.Errorf("CorruptError %+v, want download at %d", ce, tc.at)
			}
		})
	}
	t.Run("unverified accepts any content", func(t *testing.T) {
		a, b := memconn.Pipe()
		defer a.Close()
		defer b.Close()
		rawServer(t, b, corrupted)
		res, err := perf.Run(context.Background(), a, perf.Request{Download: 1000})
		if err != nil || res.Downloaded != 1000 || res.Verified != 0 {
			t.Fatalf("Run: %+v, %v; want 1000 bytes, none verified", res, err)
		}
	})
}

func TestServerRejectsBadUploads(t *testing.T) {
	t.Run("truncated header", func(t *testing.T) {
		a, b := memconn.Pipe()
		defer a.Close()
		defer b.Close()
		a.Write([]byte{0, 0, 1})
		a.CloseWrite()
		if _, err := perf.Serve(context.Background(), b, perf.ServeOptions{}); !errors.Is(err, perf.ErrBadRequest) {
			t.Fatalf("Serve: %v, want ErrBadRequest", err)
		}
	})
	t.Run("corrupt upload", func(t *testing.T) {
		a, b := memconn.Pipe()
		defer a.Close()
		defer b.Close()
		go func() {
			a.Write(binary.BigEndian.AppendUint64(nil, 0))
			a.Write(make([]byte, 100)) // zeros: not the pattern
			a.CloseWrite()
		}()
		_, err := perf.Serve(context.Background(), b, perf.ServeOptions{Verify: true})
		var ce *perf.CorruptError
		if !errors.As(err, &ce) || !errors.Is(err, perf.ErrCorrupt) || ce.Direction != "upload" {
			t.Fatalf("Serve: %v, want an upload CorruptError", err)
		}
	})
}

// TestDurationMode: the client uploads and downloads for a time, asking for
// Unbounded bytes and resetting the stream at the end; the server sees the
// reset as the end of an Unbounded request.
func TestDurationMode(t *testing.T) {
	c, s := sessions(t)
	srv := serveOne(t, s, perf.ServeOptions{Verify: true})
	st, err := c.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := perf.Run(context.Background(), st, perf.Request{
		UploadFor: 30 * time.Millisecond, DownloadFor: 30 * time.Millisecond, Verify: true,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !res.Cut || res.Uploaded == 0 || res.Downloaded == 0 || res.Verified != res.Downloaded {
		t.Errorf("result %+v: want Cut, bytes both ways, all downloaded bytes verified", res)
	}
	if res.UploadTime() < 30*time.Millisecond || res.DownloadTime() < 30*time.Millisecond {
		t.Errorf("phases %v/%v, want each at least the 30ms asked for", res.UploadTime(), res.DownloadTime())
	}
	got := <-srv
	if got.res.Requested != perf.Unbounded || !errors.Is(got.err, yamux.ErrStreamReset) {
		t.Errorf("server: %+v, %v; want an Unbounded request ended by a reset", got.res, got.err)
	}
	if got.res.Uploaded != res.Uploaded || got.res.Verified != res.Uploaded {
		t.Errorf("server received %d (verified %d), client sent %d", got.res.Uploaded, got.res.Verified, res.Uploaded)
	}
}

// TestContextEndsAStalledExchange: a server that never answers holds the
// client until its context ends, then the stream is reset and Run returns.
func TestContextEndsAStalledExchange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := sessions(t)
		go func() {
			st, err := s.AcceptStream()
			if err != nil {
				return
			}
			<-s.CloseChan() // never reads, never answers
			st.Close()
		}()
		st, err := c.OpenStream()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		_, err = perf.Run(ctx, st, perf.Request{Download: 10})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Run: %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d != 5*time.Second {
			t.Errorf("Run returned after %v, want exactly the 5s timeout", d)
		}
		if st.State() != yamux.StateReset {
			t.Errorf("stream state %v, want Reset", st.State())
		}
		c.Close()
		s.Close()
	})
}

// TestSymmetricExchanges: both ends of one session run clients and servers
// against each other at once, several streams each way.
func TestSymmetricExchanges(t *testing.T) {
	a, b := sessions(t)
	const n = 4
	var wg sync.WaitGroup
	errs := make(chan error, 4*n)
	for _, pair := range [][2]*yamux.Session{{a, b}, {b, a}} {
		dialer, listener := pair[0], pair[1]
		for range n {
			wg.Add(2)
			go func() {
				defer wg.Done()
				st, err := listener.AcceptStream()
				if err != nil {
					errs <- err
					return
				}
				defer st.Close()
				if _, err := perf.Serve(context.Background(), st, perf.ServeOptions{Verify: true}); err != nil {
					errs <- err
				}
			}()
			go func() {
				defer wg.Done()
				st, err := dialer.OpenStream()
				if err != nil {
					errs <- err
					return
				}
				defer st.Close()
				res, err := perf.Run(context.Background(), st, perf.Request{Upload: 1 << 20, Download: 1 << 20, Verify: true})
				if err == nil && res.Verified != 1<<20 {
					err = errors.New("download not fully verified")
				}
				if err != nil {
					errs <- err
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
