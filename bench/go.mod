module github.com/yamuxgo/yamux/bench

go 1.26.0

replace github.com/yamuxgo/yamux => ../

require (
	github.com/hashicorp/yamux v0.1.2
	github.com/libp2p/go-yamux/v5 v5.1.0
	github.com/xtaci/smux v1.5.58
	github.com/yamuxgo/yamux v0.0.0-00010101000000-000000000000
	go.uber.org/goleak v1.3.0
)

require github.com/libp2p/go-buffer-pool v0.0.2 // indirect
