package main

import "context"

func runServe(_ context.Context, e *env, args []string) error {
	o, err := parseServe(e, args)
	if err != nil {
		return err
	}
	o.newLogger(e).Error("cannot serve", "err", errNoHost)
	return errNoHost
}
