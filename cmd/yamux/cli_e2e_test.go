package main

import (
	"strings"
	"testing"
	"time"
)

// TestHelpOnEveryCommand: --help prints usage, flags where there are some,
// and examples, to stdout, and exits 0.
func TestHelpOnEveryCommand(t *testing.T) {
	for _, c := range commands {
		for _, args := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {"help", c.name}} {
			r := runYamux(t, 30*time.Second, args...)
			r.wantCode(t, exitOK, args...)
			for _, want := range []string{"Usage:\n  yamux " + c.name, "Examples:\n  yamux "} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("yamux %s: stdout lacks %q:\n%s", strings.Join(args, " "), want, r.stdout)
				}
			}
			if r.stderr != "" {
				t.Errorf("yamux %s: stderr %q, want nothing", strings.Join(args, " "), r.stderr)
			}
		}
	}
	for _, args := range [][]string{{"help"}, {"--help"}} {
		r := runYamux(t, 30*time.Second, args...)
		r.wantCode(t, exitOK, args...)
		for _, c := range commands {
			if !strings.Contains(r.stdout, "\n  "+c.name+" ") {
				t.Errorf("yamux %s does not list %s:\n%s", args[0], c.name, r.stdout)
			}
		}
	}
}

// TestUsageErrorsExitTwo: every kind of command-line mistake is one line on
// stderr naming the problem, and exit code 2.
func TestUsageErrorsExitTwo(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // in the one stderr line
	}{
		{[]string{}, ""},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"perf", "--nope"}, "unknown flag --nope"},
		{[]string{"perf", "--streams"}, "flag --streams needs a value"},
		{[]string{"perf", "--streams", "0"}, "--streams 0"},
		{[]string{"perf", "--streams", "x"}, `invalid value "x" for --streams`},
		{[]string{"perf", "--bytes", "12 parsecs"}, `bad size "12 parsecs"`},
		{[]string{"perf", "--bytes", "1MiB", "--duration", "1s"}, "--duration and --bytes exclude each other"},
		{[]string{"perf", "--duration", "-1s"}, "--duration -1s"},
		{[]string{"perf", "a", "b"}, "at most one MULTIADDR"},
		{[]string{"version", "extra"}, "takes no arguments"},
		{[]string{"serve", "--log-format", "xml"}, `--log-format "xml": want text or json`},
		{[]string{"serve", "--log-level", "loud"}, `--log-level "loud"`},
		{[]string{"serve", "--metrics", "9090"}, "want HOST:PORT"},
		{[]string{"serve", "/ip4/127.0.0.1/tcp/0"}, "takes no arguments"},
		{[]string{"ping"}, "want one MULTIADDR, got 0 arguments"},
		{[]string{"ping", "-c", "-1", "/ip4/127.0.0.1/tcp/1"}, "-c -1"},
		{[]string{"ping", "-i", "0s", "/ip4/127.0.0.1/tcp/1"}, "-i 0s"},
		{[]string{"keygen", "file.key"}, "takes no arguments"},
		{[]string{"ping", "/ip4/1.2.3/tcp/1"}, `bad multiaddr "/ip4/1.2.3/tcp/1"`},
		{[]string{"perf", "/ip4/127.0.0.1/udp/1"}, `unsupported multiaddr "/ip4/127.0.0.1/udp/1"`},
		{[]string{"serve", "--listen", "/dns4/localhost"}, "--listen: unsupported multiaddr"},
		{[]string{"id", "--key"}, "flag --key needs a value"},
		{[]string{"help", "nothing"}, `unknown command "nothing"`},
	} {
		r := runYamux(t, 30*time.Second, tc.args...)
		r.wantCode(t, exitUsage, tc.args...)
		if len(tc.args) == 0 {
			if !strings.Contains(r.stderr, "Usage:") {
				t.Errorf("yamux with no arguments: stderr lacks the usage:\n%s", r.stderr)
			}
			continue
		}
		wantOneErrorLine(t, r.stderr, "yamux")
		if !strings.Contains(r.stderr, tc.want) {
			t.Errorf("yamux %s: stderr %q, want it to say %q", strings.Join(tc.args, " "), r.stderr, tc.want)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := runYamux(t, 30*time.Second, args...)
		r.wantCode(t, exitOK, args...)
		if !strings.HasPrefix(r.stdout, "yamux ") || !strings.Contains(r.stdout, "go1.") || strings.Count(r.stdout, "\n") != 1 {
			t.Errorf("yamux %s: stdout %q, want one line 'yamux VERSION goX OS/ARCH'", args[0], r.stdout)
		}
	}
}
