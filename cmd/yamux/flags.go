package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// usageError is a mistake in the command line: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// errHelpShown ends a command that printed its help because it was asked to.
var errHelpShown = errors.New("help shown")

// flagSet is a command's flags with its help text.
type flagSet struct {
	*flag.FlagSet
	help func()
}

// newFlagSet makes a command's flag set, whose --help prints synopsis,
// description, flags and examples to stdout.
func newFlagSet(e *env, name, synopsis, description, examples string) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError)}
	// Parse errors become one usageError line; the help is printed only
	// when asked for.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.help = func() {
		w := e.stdout
		fmt.Fprintf(w, "Usage:\n  %s\n\n%s\n", synopsis, strings.TrimSpace(description))
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintf(w, "\nFlags:\n")
			fs.VisitAll(func(f *flag.Flag) {
				name, usage := flag.UnquoteUsage(f)
				arg := "--" + f.Name
				if len(f.Name) == 1 {
					arg = "-" + f.Name // ping(8) spelling: -c, -i
				}
				if name != "" {
					arg += " " + name
				}
				fmt.Fprintf(w, "  %-22s %s", arg, usage)
				if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
					fmt.Fprintf(w, " (default %s)", f.DefValue)
				}
				fmt.Fprintln(w)
			})
		}
		if examples != "" {
			fmt.Fprintf(w, "\nExamples:\n%s\n", strings.TrimRight(examples, "\n"))
		}
	}
	return fs
}

// parseFlags parses args allowing flags after positional arguments
// (`yamux ping ADDR -c 3`), and returns the positional ones.
func parseFlags(fs *flagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.help()
				return nil, errHelpShown
			}
			return nil, &usageError{flagMessage(err)}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// sizeFlag is a byte count written as 1048576, 64KiB, 100MiB, 1GiB, 10MB or 1G.
type sizeFlag struct {
	n   uint64
	set bool
}

func (s *sizeFlag) String() string {
	if !s.set {
		return ""
	}
	return formatBytes(float64(s.n))
}

func (s *sizeFlag) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	s.n, s.set = n, true
	return nil
}

var sizeUnits = []struct {
	suffix string
	mult   uint64
}{
	// Longest suffixes first, so "MiB" is not read as "B".
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40},
	{"B", 1},
}

func parseSize(v string) (uint64, error) {
	s := strings.TrimSpace(v)
	mult := uint64(1)
	for _, u := range sizeUnits {
		if len(s) > len(u.suffix) && strings.EqualFold(s[len(s)-len(u.suffix):], u.suffix) {
			s, mult = strings.TrimSpace(s[:len(s)-len(u.suffix)]), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f != f {
		return 0, fmt.Errorf("bad size %q: want a number of bytes like 1048576, 64KiB, 100MiB or 1GiB", v)
	}
	n := f * float64(mult)
	if n >= 1<<63 {
		return 0, fmt.Errorf("size %q is too large", v)
	}
	return uint64(n), nil
}

// flagMessage rewords the flag package's errors in the --long spelling the
// help uses.
func flagMessage(err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return "unknown flag --" + name
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return "flag --" + name + " needs a value"
	}
	if rest, ok := strings.CutPrefix(msg, "invalid value "); ok {
		return "invalid value " + strings.Replace(rest, " for flag -", " for --", 1)
	}
	return msg
}
