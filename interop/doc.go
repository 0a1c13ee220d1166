// Package interop holds the interoperability test suite of
// github.com/yamuxgo/yamux against other Yamux implementations:
// github.com/hashicorp/yamux, github.com/libp2p/go-yamux/v5 (in-process, over
// 127.0.0.1 TCP) and the JavaScript packages @chainsafe/libp2p-yamux and
// yamux-js (in a Node.js child process, see js/peer.mjs).
//
// It is a separate module so that the library's go.mod stays free of the
// peers' dependencies. Everything lives in the _test.go files; see README.md.
package interop
