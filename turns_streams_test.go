package yamux_test

import (
	"bytes"
	"io"
	"sync"
	"testing"

	"github.com/yamuxgo/yamux"
)

// TestTurnsOnlyWhenStreamsShare: the goroutines that move a session's
// DATA yield their P after each 256 KiB only while several streams share
// the direction (spec.md §4.7). One stream's bulk transfer never yields;
// two streams written in alternation make the writing side's Writes and
// the reading side's Reads (or its receive loop) yield.
func TestTurnsOnlyWhenStreamsShare(t *testing.T) {
	const size = 2 * mib
	transfer := func(t *testing.T, p sessions, streams int) (client, server uint64) {
		t.Helper()
		cs := make([]*yamux.Stream, streams)
		ss := make([]*yamux.Stream, streams)
		for i := range streams {
			cs[i], ss[i] = streamPair(t, p)
		}
		var wg sync.WaitGroup
		for i := range streams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got := make([]byte, size)
				if _, err := io.ReadFull(ss[i], got); err != nil {
					t.Errorf("stream %d: reading: %v", i, err)
				} else if !bytes.Equal(got, patternBytes(uint64(i), size)) {
					t.Errorf("stream %d: read data differs from what was written", i)
				}
			}()
		}
		// One goroutine writes the streams' 64 KiB chunks in turn, so their
		// frames alternate on the wire.
		data := make([][]byte, streams)
		for i := range streams {
			data[i] = patternBytes(uint64(i), size)
		}
		for off := 0; off < size; off += 64 * kib {
			for i := range streams {
				writeAll(t, cs[i], data[i][off:off+64*kib])
			}
		}
		waitGroup(t, &wg, guard, "the readers")
		return p.client.Stats().TurnsYielded, p.server.Stats().TurnsYielded
	}
	t.Run("one stream", func(t *testing.T) {
		forEachTransport(t, func(t *testing.T, pair pairFunc, fake bool) {
			p := startSessions(t, pair, testConfig(), testConfig())
			if c, s := transfer(t, p, 1); c != 0 || s != 0 {
				t.Errorf("one stream's %d MiB: %d turns yielded by the writing session, %d by the reading one; want none", size/mib, c, s)
			}
		}, pipeTransport)
	})
	t.Run("two streams", func(t *testing.T) {
		forEachTransport(t, func(t *testing.T, pair pairFunc, fake bool) {
			p := startSessions(t, pair, testConfig(), testConfig())
			c, s := transfer(t, p, 2)
			if c == 0 {
				t.Error("two streams' alternating Writes never yielded a turn")
			}
			if s == 0 {
				t.Error("reading two streams' alternating frames never yielded a turn")
			}
			t.Logf("turns yielded: %d writing, %d reading", c, s)
		}, pipeTransport)
	})
}
