package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is the release, set at build time with
// -ldflags "-X main.version=v1.2.3"; otherwise the module's version.
var version = ""

// versionWord is the version alone: the release, the module version, or
// "devel".
func versionWord() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func versionString() string {
	return fmt.Sprintf("yamux %s %s %s/%s", versionWord(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func runVersion(_ context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "version", "yamux version", "Prints the version of yamux, and the Go toolchain and platform it was built for.", "  yamux version")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("takes no arguments")
	}
	fmt.Fprintln(e.stdout, versionString())
	return nil
}
