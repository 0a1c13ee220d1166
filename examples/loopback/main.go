// Command loopback is the README's main job until the yamux CLI exists: it
// opens a Yamux session over a loopback TCP connection inside one process,
// echoes checksummed data over several concurrent streams, measures the
// session's round-trip time with PING, and prints what it did.
//
//	go run ./examples/loopback [-streams 8] [-mib 16]
package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/yamuxgo/yamux"
)

func main() {
	streams := flag.Int("streams", 8, "concurrent streams")
	mib := flag.Int("mib", 16, "MiB echoed per stream")
	flag.Parse()
	if err := run(*streams, *mib); err != nil {
		fmt.Fprintln(os.Stderr, "loopback:", err)
		os.Exit(1)
	}
}

func run(streams, mib int) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()

	serverDone := make(chan error, 1)
	go func() { serverDone <- serve(ln) }()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err
	}
	client, err := yamux.Client(conn, nil)
	if err != nil {
		return err
	}
	fmt.Printf("session: %s -> %s (yamux over TCP loopback)\n", client.LocalAddr(), client.RemoteAddr())

	size := mib << 20
	data := make([]byte, size) // shared by all streams: only read
	rand.Read(data)
	want := sha256.Sum256(data)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, streams)
	for i := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = echo(client, data, want)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return err
	}
	total := float64(2*streams*size) / (1 << 20)
	fmt.Printf("echoed %d streams x %d MiB, sha256 verified: %.0f MiB moved in %v (%.0f MiB/s)\n",
		streams, mib, total, elapsed.Round(time.Millisecond), total/elapsed.Seconds())

	var rtts []time.Duration
	for range 5 {
		rtt, err := client.Ping()
		if err != nil {
			return fmt.Errorf("ping: %w", err)
		}
		rtts = append(rtts, rtt)
	}
	fmt.Printf("ping RTT: %v (5 pings: %v)\n", median(rtts), rtts)

	if err := client.Close(); err != nil {
		return err
	}
	if err := <-serverDone; err != nil {
		return err
	}
	fmt.Println("session closed cleanly: GO_AWAY sent, server's AcceptStream returned ErrSessionShutdown")
	return nil
}

// echo writes data on a new stream, reads the echo back and compares its
// checksum with want.
func echo(s *yamux.Session, data []byte, want [sha256.Size]byte) error {
	st, err := s.OpenStream()
	if err != nil {
		return err
	}
	defer st.Close()
	size := len(data)
	writeErr := make(chan error, 1)
	go func() {
		_, err := io.Copy(st, bytes.NewReader(data))
		if err == nil {
			err = st.CloseWrite()
		}
		writeErr <- err
	}()
	h := sha256.New()
	n, err := io.Copy(h, st)
	if err != nil {
		return fmt.Errorf("stream %d: read: %w", st.StreamID(), err)
	}
	if err := <-writeErr; err != nil {
		return fmt.Errorf("stream %d: write: %w", st.StreamID(), err)
	}
	if n != int64(size) || !bytes.Equal(h.Sum(nil), want[:]) {
		return fmt.Errorf("stream %d: echo mismatch (%d bytes back of %d)", st.StreamID(), n, size)
	}
	return nil
}

// serve accepts one connection and echoes every stream until the client
// ends the session.
func serve(ln net.Listener) error {
	conn, err := ln.Accept()
	if err != nil {
		return err
	}
	server, err := yamux.Server(conn, nil)
	if err != nil {
		return err
	}
	defer server.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		st, err := server.AcceptStream()
		if errors.Is(err, yamux.ErrSessionShutdown) {
			return nil
		}
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer st.Close()
			if _, err := io.Copy(st, st); err == nil {
				st.CloseWrite()
			}
		}()
	}
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}
