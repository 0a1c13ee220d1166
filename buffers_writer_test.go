package yamux_test

import (
	"bytes"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"github.com/yamuxgo/yamux"
)

// batchConn is a conn that takes whole batches (yamux.BuffersWriter), as a
// security layer does, and counts how it is written to.
type batchConn struct {
	net.Conn
	writes, batches atomic.Int64
}

func (c *batchConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

func (c *batchConn) WriteBuffers(bufs [][]byte) (int64, error) {
	c.batches.Add(1)
	// One Write for the batch, as a record layer would seal it.
	n, err := c.Conn.Write(bytes.Join(bufs, nil))
	return int64(n), err
}

var _ yamux.BuffersWriter = (*batchConn)(nil)

// TestBuffersWriterTakesWholeBatches: on a conn that implements
// BuffersWriter the send loop hands over each batch in one call and never
// falls back to Write, so a record layer beneath can pack the batch into
// as few records as possible.
func TestBuffersWriterTakesWholeBatches(t *testing.T) {
	c1, c2 := memPair(t)
	bc := &batchConn{Conn: c1}
	client, server := sessionsOn(t, bc, c2, testConfig(), testConfig())
	data := patternBytes(7, 1<<20)
	done := make(chan error, 1)
	go func() {
		st, err := server.AcceptStream()
		if err != nil {
			done <- err
			return
		}
		got, err := io.ReadAll(st)
		if err == nil && !bytes.Equal(got, data) {
			err = io.ErrShortWrite
		}
		done <- err
	}()
	st, err := client.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := st.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("server read: %v", err)
	}
	if n := bc.writes.Load(); n != 0 {
		t.Errorf("send loop called Write %d times on a BuffersWriter", n)
	}
	// 1 MiB is at least 16 full frames; batches coalesce them, but there
	// must be some.
	if n := bc.batches.Load(); n == 0 {
		t.Error("WriteBuffers never called")
	}
}
