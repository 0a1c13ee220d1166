package multistream_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/yamuxgo/yamux/multistream"
)

// A go-libp2p dialer offers /tls/1.0.0 first: the listener answers na and
// the dialer goes on to /noise. Both sides write first; over net.Pipe too.
func TestSelectFallsBackAfterNA(t *testing.T) {
	for _, tr := range allTransports {
		t.Run(tr.name, func(t *testing.T) {
			d, l := tr.pair(t)
			lres := goRun(func() (string, error) { return multistream.Negotiate(l, []string{"/noise", "/yamux/1.0.0"}) })
			got, err := multistream.SelectOneOf([]string{"/tls/1.0.0", "/noise"}, d)
			if err != nil || got != "/noise" {
				t.Fatalf("dialer: %q, %v; want /noise", got, err)
			}
			if r := <-lres; r.err != nil || r.proto != "/noise" {
				t.Fatalf("listener: %q, %v; want /noise", r.proto, r.err)
			}
			// The conn now carries the protocol, in both directions.
			go d.Write([]byte("hello"))
			buf := make([]byte, 5)
			if _, err := io.ReadFull(l, buf); err != nil || string(buf) != "hello" {
				t.Fatalf("after negotiation read %q, %v", buf, err)
			}
		})
	}
}

func TestSelectNotSupported(t *testing.T) {
	for _, tr := range allTransports {
		t.Run(tr.name, func(t *testing.T) {
			d, l := tr.pair(t)
			lres := goRun(func() (string, error) { return multistream.Negotiate(l, []string{"/noise"}) })
			_, err := multistream.SelectOneOf([]string{"/tls/1.0.0", "/quic"}, d)
			var ns *multistream.NotSupportedError
			if !errors.As(err, &ns) || !errors.Is(err, multistream.ErrNotSupported) {
				t.Fatalf("dialer err = %v, want a NotSupportedError", err)
			}
			if !slices.Equal(ns.Protocols, []string{"/tls/1.0.0", "/quic"}) {
				t.Fatalf("NotSupportedError.Protocols = %q", ns.Protocols)
			}
			d.Close() // the dialer gives up: the listener's read ends
			if r := <-lres; r.err == nil {
				t.Fatalf("listener returned %q without error", r.proto)
			}
		})
	}
}

// The dialer's first write is header and proposal together (one round
// trip), and the listener answers header and echo.
func TestSelectWireBytes(t *testing.T) {
	d, l := memTransport.pair(t)
	rec := &recordingConn{Conn: d}
	lres := goRun(func() (string, error) { return multistream.Negotiate(l, []string{"/noise"}) })
	if _, err := multistream.SelectOneOf([]string{"/noise"}, rec); err != nil {
		t.Fatal(err)
	}
	<-lres
	want := append([]byte("\x13/multistream/1.0.0\n"), "\x07/noise\n"...)
	if len(rec.writes) != 1 || !bytes.Equal(rec.writes[0], want) {
		t.Fatalf("dialer writes = %q, want one write %q", rec.writes, want)
	}
}

type recordingConn struct {
	net.Conn
	writes [][]byte
}

func (c *recordingConn) Write(b []byte) (int, error) {
	c.writes = append(c.writes, slices.Clone(b))
	return c.Conn.Write(b)
}

// Two of our dialers (or two listeners) face each other: both write their
// header first and neither hangs; the negotiation then fails cleanly.
func TestSymmetricSidesNeverDeadlock(t *testing.T) {
	for _, tr := range allTransports {
		t.Run(tr.name+"/two-listeners", func(t *testing.T) {
			a, b := tr.pair(t)
			setDeadlines(t, 5*time.Second, a, b)
			ca, cb := newHeaderWatch(a), newHeaderWatch(b)
			ra := goRun(func() (string, error) { return multistream.Negotiate(ca, []string{"/x"}) })
			rb := goRun(func() (string, error) { return multistream.Negotiate(cb, []string{"/x"}) })
			// Both read the other's whole header (so both writes went
			// through), then wait for a proposal that never comes.
			<-ca.seen
			<-cb.seen
			a.Close()
			for _, r := range []result{<-ra, <-rb} {
				var ne net.Error
				if r.err == nil || (errors.As(r.err, &ne) && ne.Timeout()) {
					t.Errorf("listener: %q, %v; want a closed-connection error", r.proto, r.err)
				}
			}
		})
		t.Run(tr.name+"/two-dialers", func(t *testing.T) {
			a, b := tr.pair(t)
			setDeadlines(t, 5*time.Second, a, b)
			ra := goRun(func() (string, error) { return multistream.SelectOneOf([]string{"/x"}, a) })
			rb := goRun(func() (string, error) { return multistream.SelectOneOf([]string{"/x"}, b) })
			// Each takes the other's proposal for a reply: an echo of its
			// own proposal. Both "succeed" at once, without hanging.
			for _, r := range []result{<-ra, <-rb} {
				if r.err != nil || r.proto != "/x" {
					t.Errorf("dialer: %q, %v", r.proto, r.err)
				}
			}
		})
	}
}

// headerWatch closes seen once a whole multistream header has been read.
type headerWatch struct {
	net.Conn
	n    int
	seen chan struct{}
}

func newHeaderWatch(c net.Conn) *headerWatch { return &headerWatch{Conn: c, seen: make(chan struct{})} }

func (c *headerWatch) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	before := c.n
	c.n += n
	if before < len(multistream.ProtocolID)+2 && c.n >= len(multistream.ProtocolID)+2 {
		close(c.seen)
	}
	return n, err
}

func setDeadlines(t testing.TB, d time.Duration, conns ...net.Conn) {
	for _, c := range conns {
		if err := c.SetDeadline(time.Now().Add(d)); err != nil {
			t.Fatal(err)
		}
	}
}

// Garbage instead of multistream-select gets a clear error on both roles,
// never a hang, even when the garbage peer never reads (our pending header
// write is cut off).
func TestGarbageHeader(t *testing.T) {
	inputs := map[string][]byte{
		"http":         []byte("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\nConnection: close\r\n\r\n"),
		"other header": append([]byte{0x13}, "/multistream/2.0.0\n"...),
		"no newline":   append([]byte{0x13}, "/multistream/1.0.0X"...),
		"huge length":  {0xff, 0xff, 0xff, 0xff},
	}
	for name, in := range inputs {
		for _, role := range []string{"dialer", "listener"} {
			t.Run(name+"/"+role, func(t *testing.T) {
				ours, peer := net.Pipe()
				defer ours.Close()
				defer peer.Close()
				go peer.Write(in) // and never reads
				var err error
				if role == "dialer" {
					_, err = multistream.SelectOneOf([]string{"/noise"}, ours)
				} else {
					_, err = multistream.Negotiate(ours, []string{"/noise"})
				}
				if !errors.Is(err, multistream.ErrIncorrectVersion) {
					t.Fatalf("err = %v, want ErrIncorrectVersion", err)
				}
			})
		}
	}
}

func TestSelectUnexpectedReply(t *testing.T) {
	d, l := memTransport.pair(t)
	go func() {
		hdr, _ := multistream.AppendMessage(nil, multistream.ProtocolID)
		hdr, _ = multistream.AppendMessage(hdr, "/something-else")
		l.Write(hdr)
	}()
	_, err := multistream.SelectOneOf([]string{"/noise"}, d)
	if !errors.Is(err, multistream.ErrUnexpectedReply) {
		t.Fatalf("err = %v, want ErrUnexpectedReply", err)
	}
}

func TestSelectNoProtocols(t *testing.T) {
	if _, err := multistream.SelectOneOf(nil, nil); !errors.Is(err, multistream.ErrNoProtocols) {
		t.Fatalf("err = %v", err)
	}
	if _, err := multistream.SelectOneOf([]string{"bad\nname"}, nil); !errors.Is(err, multistream.ErrMalformed) {
		t.Fatalf("err = %v", err)
	}
}

// "ls" and any other unknown proposal gets na; after MaxProposals refusals
// the listener gives up.
func TestNegotiateBoundsProposals(t *testing.T) {
	d, l := memTransport.pair(t)
	lres := goRun(func() (string, error) { return multistream.Negotiate(l, []string{"/noise"}) })
	var out []byte
	out, _ = multistream.AppendMessage(out, multistream.ProtocolID)
	out, _ = multistream.AppendMessage(out, "ls")
	for range multistream.MaxProposals {
		out, _ = multistream.AppendMessage(out, "/unknown")
	}
	go d.Write(out)
	r := <-lres
	if !errors.Is(r.err, multistream.ErrTooManyProposals) {
		t.Fatalf("listener err = %v, want ErrTooManyProposals", r.err)
	}
	if _, err := multistream.ReadMessage(d); err != nil {
		t.Fatal(err) // header
	}
	for i := range multistream.MaxProposals {
		msg, err := multistream.ReadMessage(d)
		if err != nil || msg != multistream.NA {
			t.Fatalf("answer %d = %q, %v; want na", i, msg, err)
		}
	}
}

// Garbage that announces more bytes than it sends leaves us waiting for the
// rest: the caller's deadline bounds that wait (the host sets one on every
// negotiation), and the error says so.
func TestShortGarbageEndsAtDeadline(t *testing.T) {
	ours, peer := net.Pipe()
	defer ours.Close()
	defer peer.Close()
	go peer.Write([]byte("GET /\r\n"))
	setDeadlines(t, 100*time.Millisecond, ours)
	_, err := multistream.Negotiate(ours, []string{"/noise"})
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a timeout", err)
	}
}
