// Command yamux shows the whole stack at work and measures it: a perf job
// in one process, a server any libp2p node can reach, libp2p ping, and
// identity keys.
//
//	yamux perf [MULTIADDR]    measure throughput, setup time and RTT (iperf3-like)
//	yamux serve               listen; serve identify, ping, echo and perf
//	yamux ping MULTIADDR      libp2p ping, ping(8)-like
//	yamux keygen              write an Ed25519 identity key
//	yamux id                  print the peer ID of a key
//	yamux version             print the version
//	yamux help [COMMAND]      print help
//
// Every command takes --help. Exit codes: 0 success, 1 failure, 2 usage
// error. An error is one line on stderr naming what failed.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// env is what a command may touch of the process, so that commands stay
// testable and never reach for os.Stdout themselves.
type env struct {
	stdout, stderr io.Writer
	// stdoutTTY is true when stdout is a terminal: progress lines then
	// update in place.
	stdoutTTY bool
	// signals delivers SIGINT and SIGTERM.
	signals <-chan os.Signal
	// exit ends the process at once (a second signal during shutdown).
	exit func(code int)
}

// command is one subcommand: its name, a one-line summary for the command
// list, and its entry point, which parses its own flags.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// commands is in the order `yamux help` lists them.
var commands []command

func init() {
	// Assigned here rather than in the declaration because the help command
	// itself reads the table.
	commands = []command{
		{"perf", "measure throughput, setup time and RTT, in process or against a libp2p perf server", runPerf},
		{"serve", "listen and serve identify, ping, echo and perf", runServe},
		{"ping", "measure round-trip times with libp2p ping", runPing},
		{"keygen", "write a new Ed25519 identity key and print its peer ID", runKeygen},
		{"id", "print the peer ID of an identity key", runID},
		{"version", "print the version", runVersion},
		{"help", "print help for a command", runHelp},
	}
}

func main() {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	e := &env{stdout: os.Stdout, stderr: os.Stderr, stdoutTTY: isTerminal(os.Stdout), signals: sig, exit: os.Exit}
	os.Exit(run(context.Background(), e, os.Args[1:]))
}

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// run dispatches args to a command and turns its error into an exit code
// and one line on stderr.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, mainUsage())
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		fmt.Fprint(e.stdout, mainUsage())
		return exitOK
	case "-version", "--version":
		name = "version"
	}
	cmd, ok := lookup(name)
	if !ok {
		fmt.Fprintf(e.stderr, "yamux: unknown command %q (run 'yamux help' for the list)\n", name)
		return exitUsage
	}
	err := cmd.run(ctx, e, args[1:])
	switch {
	case err == nil, errors.Is(err, errHelpShown):
		return exitOK
	case errors.As(err, new(*usageError)):
		fmt.Fprintf(e.stderr, "yamux %s: %s (see 'yamux %s --help')\n", cmd.name, oneLine(err), cmd.name)
		return exitUsage
	default:
		fmt.Fprintf(e.stderr, "yamux %s: %s\n", cmd.name, oneLine(err))
		return exitFailure
	}
}

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// oneLine keeps an error to the one line the user reads.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func mainUsage() string {
	var b strings.Builder
	b.WriteString(`yamux: Yamux over TCP and Noise, measured

Usage:
  yamux COMMAND [FLAGS] [ARGS]

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-8s %s\n", c.name, c.summary)
	}
	b.WriteString(`
Examples:
  yamux perf                      # in-process TCP + Noise + Yamux throughput test
  yamux perf --insecure           # the same without Noise: raw Yamux over TCP
  yamux serve                     # prints /ip4/127.0.0.1/tcp/PORT/p2p/12D3KooW...
  yamux perf /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...
  yamux ping -c 3 /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...

Run 'yamux COMMAND --help' for a command's flags and examples.
Exit codes: 0 success, 1 failure, 2 usage error.
`)
	return b.String()
}

func runHelp(_ context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "help", "yamux help [COMMAND]", "Prints the list of commands, or the help of one command.", `  yamux help
  yamux help perf`)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch len(pos) {
	case 0:
		fmt.Fprint(e.stdout, mainUsage())
		return nil
	case 1:
		cmd, ok := lookup(pos[0])
		if !ok {
			return usageErrorf("unknown command %q", pos[0])
		}
		// Every command prints its help on --help and stops there.
		return cmd.run(context.Background(), e, []string{"--help"})
	default:
		return usageErrorf("want at most one command name, got %d arguments", len(pos))
	}
}
