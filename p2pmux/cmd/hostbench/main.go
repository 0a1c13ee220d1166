// Command hostbench compares our Yamux with go-libp2p's stock go-yamux
// inside otherwise identical go-libp2p hosts (loopback TCP, Noise, default
// resource manager): one-stream and multi-stream throughput, ping-pong round
// trips per second on one stream, and the process's CPU time (getrusage,
// both hosts together) per MiB moved.
//
// Both host pairs live in the same process for the whole run, and each
// figure is taken of the two pairs back to back in alternating order, so
// machine noise hits both alike; it prints the median of each figure over
// the rounds and the ratio ours/stock as a Markdown table.
//
//	go run ./cmd/hostbench -rounds 9
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	stockyamux "github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/yamuxgo/yamux/p2pmux"
)

const (
	sinkProtocol protocol.ID = "/yamuxgo/bench/sink/1.0.0"
	echoProtocol protocol.ID = "/yamuxgo/bench/echo/1.0.0"
)

// params sizes one round.
type params struct {
	singleMiB  int // bytes on the one-stream transfer
	streams    int // streams of the multi-stream transfer
	perStream  int // MiB per stream of the multi-stream transfer
	pingCount  int // round trips of the ping-pong
	pingLength int // bytes per ping
}

// pair is two connected hosts running the same muxer.
type pair struct {
	name   string
	client host.Host
	server host.Host
}

func newHost(muxer network.Multiplexer) (host.Host, error) {
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(rcmgr.DefaultLimits.AutoScale()))
	if err != nil {
		return nil, err
	}
	h, err := libp2p.New(
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(p2pmux.ID, muxer),
		libp2p.ResourceManager(rm),
		libp2p.DisableRelay(),
	)
	if err != nil {
		rm.Close()
		return nil, err
	}
	h.SetStreamHandler(sinkProtocol, func(s network.Stream) {
		// Read to EOF, then confirm with one byte: the sender's clock
		// stops when everything has arrived, not when it was queued.
		if _, err := io.Copy(io.Discard, s); err != nil {
			s.Reset()
			return
		}
		s.Write([]byte{1})
		s.Close()
	})
	h.SetStreamHandler(echoProtocol, func(s network.Stream) {
		if _, err := io.Copy(s, s); err != nil {
			s.Reset()
			return
		}
		s.Close()
	})
	return h, nil
}

func newPair(name string, muxer network.Multiplexer) (*pair, error) {
	c, err := newHost(muxer)
	if err != nil {
		return nil, err
	}
	s, err := newHost(muxer)
	if err != nil {
		c.Close()
		return nil, err
	}
	p := &pair{name: name, client: c, server: s}
	if err := c.Connect(context.Background(), peer.AddrInfo{ID: s.ID(), Addrs: s.Addrs()}); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

func (p *pair) close() {
	p.client.Close()
	p.server.Close()
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sink sends size bytes on one new sink stream and waits for the
// confirmation.
func (p *pair) sink(ctx context.Context, block []byte, size int) error {
	s, err := p.client.NewStream(ctx, p.server.ID(), sinkProtocol)
	if err != nil {
		return err
	}
	defer s.Close()
	for sent := 0; sent < size; {
		n := min(len(block), size-sent)
		if _, err := s.Write(block[:n]); err != nil {
			return err
		}
		sent += n
	}
	if err := s.CloseWrite(); err != nil {
		return err
	}
	ack := make([]byte, 1)
	if _, err := io.ReadFull(s, ack); err != nil {
		return fmt.Errorf("waiting for the sink: %w", err)
	}
	return nil
}

// transfer runs streams concurrent sink streams of perStream bytes and
// returns the wall time and CPU time it took.
func (p *pair) transfer(streams, perStream int) (wall, cpu time.Duration, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	block := make([]byte, 64<<10) // the reference perf client's block size
	runtime.GC()
	cpu0, t0 := cpuTime(), time.Now()
	var wg sync.WaitGroup
	errs := make([]error, streams)
	for i := range streams {
		wg.Go(func() { errs[i] = p.sink(ctx, block, perStream) })
	}
	wg.Wait()
	wall, cpu = time.Since(t0), cpuTime()-cpu0
	return wall, cpu, errors.Join(errs...)
}

// pingPong sends count pings of length bytes on one echo stream, each
// after the previous echo arrived, and returns the time taken.
func (p *pair) pingPong(count, length int) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := p.client.NewStream(ctx, p.server.ID(), echoProtocol)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	out, in := make([]byte, length), make([]byte, length)
	// One untimed round trip completes the stream's handshake.
	if _, err := s.Write(out); err != nil {
		return 0, err
	}
	if _, err := io.ReadFull(s, in); err != nil {
		return 0, err
	}
	runtime.GC()
	t0 := time.Now()
	for range count {
		if _, err := s.Write(out); err != nil {
			return 0, err
		}
		if _, err := io.ReadFull(s, in); err != nil {
			return 0, err
		}
	}
	return time.Since(t0), nil
}

// figures are one round's results for one pair.
type figures struct {
	singleMiBs float64 // one-stream throughput, MiB/s
	multiMiBs  float64 // multi-stream throughput, MiB/s
	pingsPerS  float64 // ping-pong round trips per second
	cpuPerMiB  float64 // CPU microseconds per MiB, over both transfers

	cpu    time.Duration // CPU time of both transfers
	cpuMiB float64       // MiB of both transfers
}

// measurement is one of the figures taken of a pair in a round.
type measurement func(p *pair, prm params, f *figures) error

var measurements = []measurement{
	func(p *pair, prm params, f *figures) error {
		wall, cpu, err := p.transfer(1, prm.singleMiB<<20)
		if err != nil {
			return fmt.Errorf("%s one-stream transfer: %w", p.name, err)
		}
		f.singleMiBs = float64(prm.singleMiB) / wall.Seconds()
		f.cpu += cpu
		f.cpuMiB += float64(prm.singleMiB)
		return nil
	},
	func(p *pair, prm params, f *figures) error {
		wall, cpu, err := p.transfer(prm.streams, prm.perStream<<20)
		if err != nil {
			return fmt.Errorf("%s %d-stream transfer: %w", p.name, prm.streams, err)
		}
		mib := float64(prm.streams * prm.perStream)
		f.multiMiBs = mib / wall.Seconds()
		f.cpu += cpu
		f.cpuMiB += mib
		return nil
	},
	func(p *pair, prm params, f *figures) error {
		wall, err := p.pingPong(prm.pingCount, prm.pingLength)
		if err != nil {
			return fmt.Errorf("%s ping-pong: %w", p.name, err)
		}
		f.pingsPerS = float64(prm.pingCount) / wall.Seconds()
		return nil
	},
}

// run measures rounds rounds and returns each pair's figures per round.
// Every figure is taken of both pairs back to back, in an order that flips
// from one figure to the next (with three figures a round, the next round
// starts the other way round too), so that a burst of load from elsewhere
// on the machine hits both pairs alike.
func run(rounds int, prm params, pairs [2]*pair, progress io.Writer) ([2][]figures, error) {
	var out [2][]figures
	flip := 0
	for r := range rounds {
		var fs [2]figures
		for _, m := range measurements {
			for k := range 2 {
				i := (k + flip) % 2
				if err := m(pairs[i], prm, &fs[i]); err != nil {
					return out, err
				}
			}
			flip++
		}
		for i := range 2 {
			f := &fs[i]
			f.cpuPerMiB = float64(f.cpu.Microseconds()) / f.cpuMiB
			out[i] = append(out[i], *f)
			fmt.Fprintf(progress, "round %d %-5s  1 stream %7.1f MiB/s  %d streams %7.1f MiB/s  %8.0f round trips/s  %6.0f µs CPU/MiB\n",
				r+1, pairs[i].name, f.singleMiBs, prm.streams, f.multiMiBs, f.pingsPerS, f.cpuPerMiB)
		}
	}
	return out, nil
}

func median(fs []figures, get func(figures) float64) float64 {
	v := make([]float64, len(fs))
	for i, f := range fs {
		v[i] = get(f)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// report writes the Markdown table of medians and ratios.
func report(w io.Writer, rounds int, prm params, res [2][]figures) {
	rows := []struct {
		name       string
		get        func(figures) float64
		format     string
		higherWins bool
	}{
		{fmt.Sprintf("throughput, 1 stream × %d MiB (MiB/s)", prm.singleMiB), func(f figures) float64 { return f.singleMiBs }, "%.0f", true},
		{fmt.Sprintf("throughput, %d streams × %d MiB (MiB/s)", prm.streams, prm.perStream), func(f figures) float64 { return f.multiMiBs }, "%.0f", true},
		{fmt.Sprintf("ping-pong, %d B on one stream (round trips/s)", prm.pingLength), func(f figures) float64 { return f.pingsPerS }, "%.0f", true},
		{"CPU per MiB transferred, both hosts (µs)", func(f figures) float64 { return f.cpuPerMiB }, "%.0f", false},
	}
	fmt.Fprintf(w, "| figure (median of %d rounds) | ours | stock go-yamux | ours / stock |\n", rounds)
	fmt.Fprintln(w, "|---|---:|---:|---:|")
	for _, r := range rows {
		o, s := median(res[0], r.get), median(res[1], r.get)
		better := "better"
		if (o > s) != r.higherWins {
			better = "worse"
		}
		if o == s {
			better = "equal"
		}
		fmt.Fprintf(w, "| %s | "+r.format+" | "+r.format+" | %.2f (%s) |\n", r.name, o, s, o/s, better)
	}
}

func main() {
	rounds := flag.Int("rounds", 9, "measurement rounds per muxer")
	single := flag.Int("single", 256, "MiB sent on the one-stream transfer")
	streams := flag.Int("streams", 16, "streams of the multi-stream transfer")
	perStream := flag.Int("per-stream", 16, "MiB per stream of the multi-stream transfer")
	pings := flag.Int("pings", 5000, "round trips of the ping-pong")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	prm := params{singleMiB: *single, streams: *streams, perStream: *perStream, pingCount: *pings, pingLength: 32}

	ourPair, err := newPair("ours", p2pmux.DefaultTransport)
	if err != nil {
		log.Fatal(err)
	}
	defer ourPair.close()
	stockPair, err := newPair("stock", stockyamux.DefaultTransport)
	if err != nil {
		log.Fatal(err)
	}
	defer stockPair.close()

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Fprintf(os.Stderr, "%s, GOMAXPROCS %d, %d rounds\n", runtime.Version(), runtime.GOMAXPROCS(0), *rounds)
	res, err := run(*rounds, prm, [2]*pair{ourPair, stockPair}, os.Stderr)
	if err != nil {
		log.Fatal(err)
	}
	report(os.Stdout, *rounds, prm, res)
}
