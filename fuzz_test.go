package yamux_test

import (
	"errors"
	"io"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/frame"
	"github.com/yamuxgo/yamux/internal/memconn"
)

// fuzzSeeds are peer byte streams built from valid frames, so the fuzzer
// starts from inputs that reach deep into the session.
func fuzzSeeds() [][]byte {
	f := func(t frame.Type, fl frame.Flags, id, n uint32, body ...byte) []byte {
		h := frame.New(t, fl, id, n)
		return append(h[:], body...)
	}
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	return [][]byte{
		nil,
		f(frame.TypePing, frame.FlagSYN, 0, 7),
		cat(f(frame.TypeWindowUpdate, frame.FlagSYN, 1, 0), f(frame.TypeData, 0, 1, 3, 'a', 'b', 'c'), f(frame.TypeWindowUpdate, frame.FlagFIN, 1, 0)),
		f(frame.TypeData, frame.FlagSYN|frame.FlagFIN, 3, 2, 'h', 'i'),
		cat(f(frame.TypeWindowUpdate, frame.FlagSYN, 5, 1<<20), f(frame.TypeWindowUpdate, frame.FlagRST, 5, 0x1005)),
		f(frame.TypeGoAway, 0, 0, 0),
		f(frame.TypeGoAway, 0, 0, 1),
		append([]byte{1}, make([]byte, 11)...), // version 1
		cat(f(frame.TypeWindowUpdate, frame.FlagSYN, 7, 0), f(frame.TypeWindowUpdate, 0, 7, 0xFFFF0000), f(frame.TypeWindowUpdate, 0, 7, 0xFFFF0000)),
		f(frame.TypeData, frame.FlagSYN, 9, 300000),
	}
}

// FuzzSession feeds arbitrary bytes to a server session as if from a peer.
// Whatever the input, the session must not panic, must answer a violation
// with GO_AWAY or just end, must end once the input ends (EOF), and must
// leave no goroutine behind (synctest checks that the bubble is empty).
func FuzzSession(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		synctest.Test(t, func(t *testing.T) {
			ours, peer := memconn.PipeWith(memconn.Options{Capacity: 64 << 10})
			cfg := yamux.DefaultConfig()
			cfg.AcceptBacklog = 8
			cfg.MaxIncomingStreams = 16
			s, err := yamux.Server(ours, cfg)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { // the peer never stops reading what we send
				defer wg.Done()
				io.Copy(io.Discard, peer)
			}()
			go func() { // accept and read streams to exercise the data path
				defer wg.Done()
				for {
					st, err := s.AcceptStream()
					if err != nil {
						return
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						io.Copy(io.Discard, st)
						st.Write([]byte("reply"))
						st.Close()
					}()
				}
			}()
			peer.Write(input)
			peer.CloseWrite()
			synctest.Wait()
			if !s.IsClosed() {
				t.Fatalf("session still running after the input ended")
			}
			if !errorsIsShutdown(s.Err()) {
				t.Fatalf("Err() = %v, want a session shutdown error", s.Err())
			}
			s.Close()
			peer.Close()
			wg.Wait()
		})
	})
}

func errorsIsShutdown(err error) bool {
	var se *yamux.SessionError
	return errors.As(err, &se) && errors.Is(err, yamux.ErrSessionShutdown)
}
