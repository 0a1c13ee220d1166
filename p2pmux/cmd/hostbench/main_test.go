package main

import (
	"bytes"
	"io"
	"strings"
	"testing"

	stockyamux "github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/yamuxgo/yamux/p2pmux"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestOneSmallRound runs the harness end to end at a tiny size: both
// pairs measure, the figures are positive and the table has every row.
func TestOneSmallRound(t *testing.T) {
	ourPair, err := newPair("ours", p2pmux.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	defer ourPair.close()
	stockPair, err := newPair("stock", stockyamux.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	defer stockPair.close()
	prm := params{singleMiB: 2, streams: 3, perStream: 1, pingCount: 20, pingLength: 32}
	res, err := run(2, prm, [2]*pair{ourPair, stockPair}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for i, rounds := range res {
		if len(rounds) != 2 {
			t.Fatalf("pair %d measured %d rounds, want 2", i, len(rounds))
		}
		for _, f := range rounds {
			if f.singleMiBs <= 0 || f.multiMiBs <= 0 || f.pingsPerS <= 0 || f.cpuPerMiB <= 0 {
				t.Fatalf("pair %d: non-positive figure in %+v", i, f)
			}
		}
	}
	var out bytes.Buffer
	report(&out, 2, prm, res)
	if got := strings.Count(out.String(), "\n"); got != 6 {
		t.Fatalf("table has %d lines, want 6:\n%s", got, out.String())
	}
}

func TestMedian(t *testing.T) {
	get := func(f figures) float64 { return f.pingsPerS }
	odd := []figures{{pingsPerS: 5}, {pingsPerS: 1}, {pingsPerS: 3}}
	if m := median(odd, get); m != 3 {
		t.Fatalf("median of 5,1,3 = %v", m)
	}
	even := append(odd, figures{pingsPerS: 7})
	if m := median(even, get); m != 4 {
		t.Fatalf("median of 5,1,3,7 = %v", m)
	}
}
