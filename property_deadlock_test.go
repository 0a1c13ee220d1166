package yamux_test

// R24's second case, rust-yamux's write_deadlock: two sessions that both
// write more than a window before reading must not deadlock.

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/yamuxgo/yamux"
	"github.com/yamuxgo/yamux/internal/memconn"
)

// TestR24_PropertyWriteDeadlock is rust-yamux's write_deadlock case: 1 MiB
// echoed through a connection that buffers only 1 KiB per direction. Both
// sides write and read at once, so a design that stops reading while it
// waits to write deadlocks; synctest reports that as a failure.
func TestR24_PropertyWriteDeadlock(t *testing.T) {
	for _, msg := range []int{1 << 10, 64 << 10} {
		t.Run(fmt.Sprintf("msg=%d", msg), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b := memconn.PipeWith(memconn.Options{Capacity: 1 << 10})
				cfg := yamux.DefaultConfig()
				cfg.EnableKeepAlive = false
				cfg.MaxMessageSize = msg
				client, err := yamux.Client(a, cfg)
				if err != nil {
					t.Fatal(err)
				}
				server, err := yamux.Server(b, cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer server.Close()
				defer client.Close()
				start := time.Now()

				echoed := make(chan error, 1)
				go func() {
					st, err := server.AcceptStream()
					if err != nil {
						echoed <- err
						return
					}
					_, err = io.Copy(st, st)
					st.CloseWrite()
					echoed <- err
				}()

				data := make([]byte, 1<<20)
				propFill(data, 7, 0)
				st, err := client.OpenStream()
				if err != nil {
					t.Fatal(err)
				}
				wrote := make(chan error, 1)
				go func() {
					_, err := st.Write(data)
					st.CloseWrite()
					wrote <- err
				}()
				got, err := io.ReadAll(st)
				if err != nil {
					t.Fatalf("reading the echo: %v", err)
				}
				if err := <-wrote; err != nil {
					t.Fatalf("Write(1 MiB) = %v", err)
				}
				if err := <-echoed; err != nil {
					t.Fatalf("echo: %v", err)
				}
				if !bytes.Equal(got, data) {
					t.Fatalf("echo returned %d bytes that differ from the %d sent", len(got), len(data))
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("echo took %v of fake time, want < 5s (no timer should be involved)", d)
				}
			})
		})
	}
}
