package yamux_test

import (
	"errors"
	"io"
	"net"
	"testing"
	"testing/synctest"

	"github.com/yamuxgo/yamux"
)

// Regressions from running hashicorp/yamux's and go-yamux's test suites
// against our API (issue 7, section 2).

// TestOpenAcceptNilInterface: the net.Conn forms return a true nil
// interface on error, not a nil *Stream inside a non-nil net.Conn.
func TestOpenAcceptNilInterface(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		client, server := memSessions(t)
		client.Close()
		<-server.CloseChan()
		for name, call := range map[string]func() (net.Conn, error){
			"client.Open": client.Open, "client.Accept": client.Accept,
			"server.Open": server.Open, "server.Accept": server.Accept,
		} {
			c, err := call()
			if err == nil {
				t.Errorf("%s on a closed session: no error", name)
			}
			if c != nil {
				t.Errorf("%s on a closed session returned a non-nil net.Conn (%T) with %v", name, c, err)
			}
		}
	})
}

// TestGoAwayCodeWinsOverWriteError: the peer sends GO_AWAY(code) and closes
// the connection while we are writing; our write then fails, but Err()
// reports the peer's GO_AWAY and its code, not our failed write. Over
// net.Pipe (no lingering close), repeated: the race was 22 in 300.
func TestGoAwayCodeWinsOverWriteError(t *testing.T) {
	const code = yamux.ErrorCode(0x1005)
	for i := range 300 {
		a, b := net.Pipe()
		client, err := yamux.Client(a, testConfig())
		if err != nil {
			t.Fatal(err)
		}
		server, err := yamux.Server(b, testConfig())
		if err != nil {
			t.Fatal(err)
		}
		writing := make(chan struct{})
		go func() { // keep our send loop busy
			defer close(writing)
			st, err := client.OpenStream()
			if err != nil {
				return
			}
			buf := make([]byte, 16<<10)
			for {
				if _, err := st.Write(buf); err != nil {
					return
				}
			}
		}()
		go func() {
			st, err := server.AcceptStream()
			if err != nil {
				return
			}
			io.Copy(io.Discard, st)
		}()
		server.CloseWithError(code)
		<-client.CloseChan()
		<-writing
		client.Close()
		var se *yamux.SessionError
		if err := client.Err(); !errors.As(err, &se) || se.Code != code || !se.Remote || !errors.Is(err, yamux.ErrRemoteGoAway) {
			t.Fatalf("run %d: Err() = %v, want the peer's GO_AWAY(%v)", i, err, code)
		}
	}
}

// TestEOFAfterFINSurvivesSessionEnd: once the peer's FIN has arrived, the
// session ending does not turn that stream's Read into an error: the
// buffered data, then io.EOF (spec.md §3.4). A stream without the FIN
// still ends with the session's error after its data.
func TestEOFAfterFINSurvivesSessionEnd(t *testing.T) {
	for _, closer := range []string{"reader", "writer"} {
		t.Run(closer, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				client, server := memSessions(t)
				fin, err := client.OpenStream()
				if err != nil {
					t.Fatal(err)
				}
				open, err := client.OpenStream()
				if err != nil {
					t.Fatal(err)
				}
				fin.Write([]byte("all of it"))
				fin.CloseWrite()
				open.Write([]byte("part"))
				sfin, err := server.AcceptStream()
				if err != nil {
					t.Fatal(err)
				}
				sopen, err := server.AcceptStream()
				if err != nil {
					t.Fatal(err)
				}
				synctest.Wait()
				if st := sfin.State(); st != yamux.StateHalfClosedRecv {
					t.Fatalf("state after the peer's FIN = %v, want HalfClosedRecv", st)
				}
				if closer == "reader" {
					server.Close()
				} else {
					client.Close()
					<-server.CloseChan()
				}
				got, err := io.ReadAll(sfin)
				if string(got) != "all of it" || err != nil {
					t.Errorf("FIN'd stream after session end: ReadAll = %q, %v; want the data, then io.EOF", got, err)
				}
				got, err = io.ReadAll(sopen)
				if string(got) != "part" || !errors.Is(err, yamux.ErrSessionShutdown) {
					t.Errorf("open stream after session end: ReadAll = %q, %v; want the data, then ErrSessionShutdown", got, err)
				}
			})
		})
	}
}
