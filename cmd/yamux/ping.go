package main

import "context"

func runPing(_ context.Context, e *env, args []string) error {
	if _, err := parsePing(e, args); err != nil {
		return err
	}
	return errNoHost
}
