package main

import (
	"fmt"
	"strings"
)

// allContenders lists every contender in report order; raw comes first
// because every ratio is taken against it.
func allContenders() ([]Contender, error) {
	gy16 := goyamuxMuxer(16<<20, raisedLimits)
	plain := []Contender{
		{Name: "raw", Note: "the bare socket; one connection per stream"},
		{Name: "ours", Note: "github.com/yamuxgo/yamux (this tree), defaults", Mux: oursMuxer(raisedLimits)},
		{Name: "hashicorp", Note: "github.com/hashicorp/yamux v0.1.2, defaults", Mux: hashicorpMuxer()},
		{Name: "go-yamux", Note: "github.com/libp2p/go-yamux/v5 v5.1.0, defaults", Mux: goyamuxMuxer(0, raisedLimits)},
		{Name: "go-yamux-16M", Note: "go-yamux v5.1.0, MaxStreamWindowSize 16 MiB", Mux: gy16},
		{Name: "smux", Note: "github.com/xtaci/smux v1.5.58, defaults (protocol v1)", Mux: smuxMuxer()},
	}
	stack, err := noiseContenders()
	if err != nil {
		return nil, err
	}
	return append(plain, stack...), nil
}

// selectContenders keeps the named contenders (comma-separated; empty: all),
// always with raw first since it is the reference.
func selectContenders(all []Contender, names string) ([]Contender, error) {
	if names == "" {
		return all, nil
	}
	want := map[string]bool{"raw": true}
	for _, n := range strings.Split(names, ",") {
		want[strings.TrimSpace(n)] = true
	}
	// A contender's reference comes along too.
	for _, c := range all {
		if want[c.Name] && c.Base != "" {
			want[c.Base] = true
		}
	}
	var out []Contender
	for _, c := range all {
		if want[c.Name] {
			out = append(out, c)
			delete(want, c.Name)
		}
	}
	for n := range want {
		return nil, fmt.Errorf("muxbench: unknown contender %q", n)
	}
	return out, nil
}
