package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
)

func runServe(ctx context.Context, e *env, args []string) error {
	o, err := parseServe(e, args)
	if err != nil {
		return err
	}
	log := o.newLogger(e)
	key, err := loadKey(o.keyFile)
	if err != nil {
		return err
	}
	perfSrv := &perfServer{log: log}
	var m *metrics
	if o.metrics != "" {
		m = newMetrics(perfSrv)
		if err := m.serve(o.metrics); err != nil {
			return err
		}
		defer m.close()
	}
	ss, err := newServer(key, o.insecure, log, perfSrv, m)
	if err != nil {
		return err
	}
	if err := ss.listen(o.listen); err != nil {
		ss.shutdown(0, nil)
		return err
	}
	// The one stdout line: what to dial.
	fmt.Fprintln(e.stdout, ss.addr())
	attrs := []any{"addr", ss.addr(), "protocols", ss.h.Protocols(), "version", versionWord()}
	if m != nil {
		attrs = append(attrs, "metrics", "http://"+m.addr()+"/metrics")
	}
	if o.insecure {
		attrs = append(attrs, "security", "none")
	}
	log.Info("listening", attrs...)

	var sig os.Signal
	select {
	case sig = <-e.signals:
	case <-ctx.Done():
	}
	log.Info("shutting down: GO_AWAY to every peer", "signal", fmt.Sprint(sig), "drain", o.drain)
	force := make(chan struct{})
	stopForce := make(chan struct{})
	go func() {
		select {
		case s := <-e.signals:
			log.Warn("second signal: exiting without waiting", "signal", s.String())
			close(force)
			e.exit(exitFailure)
		case <-stopForce:
		}
	}()
	left := ss.shutdown(o.drain, force)
	close(stopForce)
	if left > 0 {
		log.Warn("drain time over: closed streams still in flight", "streams", left)
	}
	log.Info("stopped", slog.Int("streams_cut", left))
	return nil
}
