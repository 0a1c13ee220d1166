// Package perf implements the libp2p perf protocol, /perf/1.0.0, over any
// stream that can close its write side alone (a *yamux.Stream, a libp2p
// stream).
//
// # Protocol
//
// The client opens a stream, writes the number of bytes it wants back as one
// big-endian uint64, uploads any number of bytes, closes its write side and
// then reads until EOF, expecting exactly the number it asked for. The server
// reads the number, reads until EOF, only then sends that many bytes, and
// closes its write side. So one exchange measures the upload first and the
// download after it, and Result keeps the two phases apart.
//
// # Content
//
// The protocol leaves the bytes' content open. This package always sends a
// fixed pseudo-random pattern whose value at each offset is known, so that a
// peer running this package can check every byte it receives (Request.Verify,
// ServeOptions.Verify). Against other implementations only the count can be
// checked, which Run always does: a short or long download is an error.
//
// # Duration mode
//
// The download size is announced before the upload, so a client that wants
// to download for a time rather than a size asks for Unbounded bytes and
// resets the stream when the time is up (Request.DownloadFor). That reset is
// the normal end of such an exchange, for this package's client and server.
package perf
