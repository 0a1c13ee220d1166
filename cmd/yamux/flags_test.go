package main

import "testing"

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"1048576", 1 << 20, true},
		{"64KiB", 64 << 10, true},
		{"100MiB", 100 << 20, true},
		{"1GiB", 1 << 30, true},
		{"1.5 GiB", 3 << 29, true},
		{"10MB", 10e6, true},
		{"1G", 1 << 30, true},
		{"7b", 7, true},
		{"", 0, false},
		{"MiB", 0, false},
		{"-1MiB", 0, false},
		{"1 parsec", 0, false},
		{"NaN", 0, false},
		{"1e30", 0, false},
	} {
		got, err := parseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseFlagsInterspersed(t *testing.T) {
	e := &env{}
	o, err := parsePing(e, []string{"/ip4/127.0.0.1/tcp/1", "-c", "3", "-i", "10ms"})
	if err != nil || o.target != "/ip4/127.0.0.1/tcp/1" || o.count != 3 || o.interval.Milliseconds() != 10 {
		t.Fatalf("parsePing: %+v, %v; want the address with -c 3 -i 10ms after it", o, err)
	}
}
