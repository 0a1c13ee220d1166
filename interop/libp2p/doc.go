// Package libp2p holds the interop tests of the libp2p stack (packages
// host, noise, multistream, identify, ping) against real libp2p nodes:
// go-libp2p in-process and js-libp2p in a Node.js child process. It is a
// module of its own so that go-libp2p never enters the library's go.mod.
// See README.md.
package libp2p
