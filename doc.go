// Package yamux implements the Yamux stream multiplexer (spec.md in the
// repository root describes the wire protocol and every decision the
// original specification leaves open). It speaks to hashicorp/yamux,
// libp2p's go-yamux, rust-yamux and the JavaScript implementations, and its
// API is a superset of hashicorp/yamux's with libp2p-style half-close and
// reset.
//
// # Model
//
// A Session runs over one reliable, ordered connection (usually a net.Conn,
// possibly a Noise-secured one). Client and Server only differ in the
// stream ids they allocate. Each side opens streams with OpenStream and
// receives the peer's with AcceptStream; a Stream is a net.Conn.
//
// Every stream follows one state machine, the one drawn in the design note
// this package was built from: Open, HalfClosedSend (we sent FIN),
// HalfClosedRecv (the peer sent FIN), FullyClosed and Reset. Stream.State
// reports it. CloseWrite half-closes, Close closes both directions without
// blocking, Reset aborts.
//
// Flow control is per stream: each direction starts with a 256 KiB window
// that the receiver re-opens as the application reads, and that grows with
// the measured round-trip time up to Config.MaxStreamWindowSize, within a
// per-session budget (Config.MaxSessionReceiveBuffer), or, with
// Config.MemoryManager, within what an application-wide manager grants
// each stream (memory.go; go-libp2p's resource manager plugs in there).
//
// # Concurrency
//
// A session runs exactly two goroutines: a receive loop and a send loop.
// Both directions of the connection are roles rather than goroutines. One
// goroutine at a time reads the connection (the read role): normally the
// receive loop, but a Read that would wait for data, when nothing else
// waits for what the connection brings, reads the connection itself, so
// its data costs no hand-off between goroutines (spec.md §4.4); it is
// interrupted with a read deadline when it has to leave, so this only
// happens on connections that lose nothing to that (TCP, Unix sockets,
// net.Pipe, InterruptibleReader). Writes are serialised by a writer role:
// a Write that finds nobody writing takes the role and writes everything
// queued itself; the send loop writes what the reader queues (window
// updates, pongs, resets: whoever reads never writes) and the final
// frames. Each batch is one writev on a socket, or one WriteBuffers call
// on a connection that implements BuffersWriter (a security layer such as
// noise.Conn, which seals the batch into as few records as it can). There
// is no goroutine per stream, per open or per ping. A stream is state and
// buffers: for each frame the reader asks the stream what it means
// (deliver so many bytes, discard them, answer with RST, release the
// stream) and does the reading and replying itself; a Read already
// waiting gets the bytes straight into its slice. Since bulk transfers
// rarely block, the goroutines that move data (a stream's Read and
// Write, the receive loop) take turns: while several streams share a
// direction, each yields the CPU after every 256 KiB it moves, so that a
// small stream's goroutines are not kept waiting behind them for the
// runtime's 10 ms preemption (spec.md §4.7).
// Control frames (window updates, pings, resets, GO_AWAY) are written
// ahead of queued data. Write copies the caller's bytes into the queue's
// bounded ring while it has room and returns; a frame that does not fit
// is written from the caller's slice, in FIFO order across streams, and
// that Write returns once it is written. Write blocks while the peer's
// window is empty. The reader never stops reading for a peer that
// behaves like us: replies are bounded above what such a peer can
// cause. All methods of Session and Stream are safe for concurrent use;
// concurrent Writes on one stream are serialised, so their frames never
// interleave. Session.Stats reports the session's counters.
//
// # Lifecycle and errors
//
// A session ends on Close or CloseWithError (both idempotent: they flush
// queued frames, send GO_AWAY, half-close the connection and read until
// the peer's EOF, briefly and boundedly, so the peer loses nothing, then
// close it), on the peer's GO_AWAY or EOF, on a protocol violation
// (answered with GO_AWAY(protocol error)), on a keepalive timeout or on a
// failed or stalled write. Then every blocked call returns: AcceptStream,
// OpenStream and Ping with an error matching ErrSessionShutdown, which is
// a *SessionError saying who ended the session, with which code and why;
// Err returns the same. A stream reset by either side fails with a
// *StreamError matching ErrStreamReset. A stream whose peer had sent FIN
// before the session ended still reads its data, then io.EOF. Deadline
// errors are net.Errors with Timeout() true that wrap
// os.ErrDeadlineExceeded. Errors are values to match with errors.Is and
// errors.As, never by text. The package writes nothing to stderr; give
// Config.Logger a *slog.Logger to see what it does.
package yamux
