package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestInterop runs every behaviour (scenarios_test.go) for every pairing of
// the local implementation (ours by default) with every peer, with our side
// as yamux Client (we dial) and as Server (we listen).
//
// Environment:
//
//	INTEROP_LOCAL   comma list of implementations under test (default "ours";
//	                "goyamux" when built with -tags nocore)
//	INTEROP_PEERS   comma list of peers (default hashicorp,goyamux,chainsafe,yamuxjs)
//	INTEROP_RUN     regexp on the behaviour name (default: all)
//	INTEROP_MATRIX  write the result matrix (markdown) to this file
func TestInterop(t *testing.T) {
	locals := envList("INTEROP_LOCAL", defaultLocals())
	peers := envList("INTEROP_PEERS", []string{"hashicorp", "goyamux", "chainsafe", "yamuxjs"})
	var filter *regexp.Regexp
	if s := os.Getenv("INTEROP_RUN"); s != "" {
		filter = regexp.MustCompile(s)
	}
	sz := currentSizes()
	for _, ln := range locals {
		local, ok := lookupImpl(ln)
		if !ok {
			t.Fatalf("unknown local implementation %q (have %v)", ln, implNames())
		}
		for _, pn := range peers {
			if pn == ln {
				continue
			}
			pd := peerByName(pn)
			if pd == nil {
				t.Fatalf("unknown peer %q", pn)
			}
			t.Run(ln+"-"+pn, func(t *testing.T) {
				if strings.HasPrefix(pn, "chainsafe") || strings.HasPrefix(pn, "yamuxjs") {
					if why := jsAvailable(); why != "" {
						t.Fatalf("JS peer unavailable: %s", why)
					}
				}
				for _, ourClient := range []bool{true, false} {
					t.Run(roleName(ourClient), func(t *testing.T) {
						var bs []behaviour
						for _, b := range behaviours(sz) {
							if filter == nil || filter.MatchString(b.name) {
								bs = append(bs, b)
							}
						}
						if pd.informational {
							runConcurrently(t, local, pd, ourClient, bs)
							return
						}
						for _, b := range bs {
							t.Run(b.name, func(t *testing.T) {
								runCase(t, local, pd, ourClient, b)
							})
						}
					})
				}
			})
		}
	}
}

// TestHarnessSanity checks the harness itself with two peer libraries (no
// code of ours involved): go-yamux as the "local" side against hashicorp and
// chainsafe, a few cheap behaviours. If this fails, suspect the harness or the
// environment before the core.
func TestHarnessSanity(t *testing.T) {
	local, _ := lookupImpl("goyamux")
	sz := sizes{manyN: 8, manySize: 64 << 10, bigSize: 1 << 20, tinyN: 16, tinySize: 1 << 10, peerOpensN: 4, peerOpensSize: 16 << 10, bulk: 1 << 20}
	keep := map[string]bool{"halfclose/ours": true, "halfclose/peer": true, "reset/ours": true, "reset/peer": true, "ping/both": true, "goaway/ours-close": true}
	for _, pn := range []string{"hashicorp", "chainsafe"} {
		pd := peerByName(pn)
		t.Run(pn, func(t *testing.T) {
			if pn == "chainsafe" {
				if why := jsAvailable(); why != "" {
					t.Fatalf("JS peer unavailable: %s", why)
				}
			}
			for _, ourClient := range []bool{true, false} {
				for _, b := range behaviours(sz) {
					if !keep[b.name] && !strings.HasPrefix(b.name, "echo/8x") {
						continue
					}
					t.Run(roleName(ourClient)+"/"+b.name, func(t *testing.T) {
						runCaseOpts(t, local, pd, ourClient, b, false)
					})
				}
			}
		})
	}
}

func roleName(ourClient bool) string {
	if ourClient {
		return "client"
	}
	return "server"
}

func envList(name string, def []string) []string {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func defaultLocals() []string {
	if _, ok := lookupImpl("ours"); ok {
		return []string{"ours"}
	}
	return []string{"goyamux"}
}

func peerByName(name string) *peerDesc {
	switch name {
	case "chainsafe", "yamuxjs":
		return jsPeer(name)
	}
	if i, ok := lookupImpl(name); ok {
		return goPeer(i)
	}
	return nil
}

// ------------------------------------------------------------------ sizes

type sizes struct {
	manyN, manySize           int // issue item 1: 100 x 1 MiB
	bigSize                   int // 1 x 64 MiB (16 MiB with -short)
	tinyN, tinySize           int // 1000 x 1 KiB
	peerOpensN, peerOpensSize int // streams opened by the peer, echoed by us
	bulk                      int // window test, each direction
}

func currentSizes() sizes {
	if testing.Short() {
		return sizes{manyN: 100, manySize: 1 << 20, bigSize: 16 << 20, tinyN: 1000, tinySize: 1 << 10,
			peerOpensN: 100, peerOpensSize: 64 << 10, bulk: 16 << 20}
	}
	return sizes{manyN: 100, manySize: 1 << 20, bigSize: 64 << 20, tinyN: 1000, tinySize: 1 << 10,
		peerOpensN: 100, peerOpensSize: 1 << 20, bulk: 64 << 20}
}

// caseTimeout bounds one behaviour, setup included.
func caseTimeout(pd *peerDesc) time.Duration {
	switch {
	case pd.informational:
		return 6 * time.Second // failures are expected: do not wait long for them
	case testing.Short():
		return 45 * time.Second
	}
	return 120 * time.Second
}

// ------------------------------------------------------------------ check

var (
	errFatal = errors.New("fatal")
	errSkip  = errors.New("skip")
)

// check collects a scenario's failures; the runner decides whether they fail
// the test (they do not for informational peers). Safe for concurrent use.
type check struct {
	mu      sync.Mutex
	fails   []string
	logs    []string
	notes   []string
	skipped string
}

func (c *check) Errorf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fails = append(c.fails, fmt.Sprintf(format, args...))
}

// Fatalf records a failure and ends the scenario. Call it only from the
// scenario's own goroutine.
func (c *check) Fatalf(format string, args ...any) {
	c.Errorf(format, args...)
	panic(errFatal)
}

func (c *check) Skipf(format string, args ...any) {
	c.mu.Lock()
	c.skipped = fmt.Sprintf(format, args...)
	c.mu.Unlock()
	panic(errSkip)
}

func (c *check) Logf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.logs = append(c.logs, fmt.Sprintf(format, args...))
}

// note adds a short fact to the matrix cell.
func (c *check) note(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.notes = append(c.notes, fmt.Sprintf(format, args...))
}

func (c *check) failures() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.fails...)
}

// ----------------------------------------------------------------- runner

type caseRes struct {
	mu   sync.Mutex
	conn net.Conn
	ls   session
	ps   peerSession
	tap  *tap
}

// outcome is everything a case produced; report turns it into test output.
type outcome struct {
	status  string   // pass | FAIL | xfail | skip
	hard    []string // failures that count even for informational peers
	fails   []string // scenario failures (expected ones for informational peers)
	logs    []string
	notes   []string
	skipped string
	diag    string
	dur     time.Duration
}

func runCase(t *testing.T, local impl, pd *peerDesc, ourClient bool, b behaviour) {
	runCaseOpts(t, local, pd, ourClient, b, true)
}

// runCaseOpts runs one case on its own and checks afterwards that every
// goroutine of the local implementation it started is gone.
func runCaseOpts(t *testing.T, local impl, pd *peerDesc, ourClient bool, b behaviour, record bool) {
	before := libGoroutines(local)
	o := execCase(local, pd, ourClient, b)
	if leaked := waitLibGoroutines(local, before, 3*time.Second); leaked != "" {
		o.hard = append(o.hard, "goroutines of "+local.Name()+" left behind after both sessions closed:\n"+leaked)
		o.status = "FAIL"
	}
	o.report(t, pd)
	if record {
		recordResult(local.Name(), pd.name, roleName(ourClient), b.name, o)
	}
}

// runConcurrently runs the cases of an informational peer side by side (they
// mostly wait for their deadlines), then checks for leftover goroutines of
// the local implementation once for the whole group and reports each case as
// its own subtest.
func runConcurrently(t *testing.T, local impl, pd *peerDesc, ourClient bool, bs []behaviour) {
	before := libGoroutines(local)
	outs := make([]outcome, len(bs))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, b := range bs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			outs[i] = execCase(local, pd, ourClient, b)
		}()
	}
	wg.Wait()
	if leaked := waitLibGoroutines(local, before, 5*time.Second); leaked != "" {
		t.Errorf("goroutines of %s left behind after the %s cases closed their sessions:\n%s", local.Name(), pd.name, leaked)
	}
	for i, b := range bs {
		t.Run(b.name, func(t *testing.T) {
			outs[i].report(t, pd)
			recordResult(local.Name(), pd.name, roleName(ourClient), b.name, outs[i])
		})
	}
}

// execCase runs one behaviour on a fresh connection and fresh sessions, with
// a hard bound on everything, and tears it all down.
func execCase(local impl, pd *peerDesc, ourClient bool, b behaviour) (o outcome) {
	timeout := caseTimeout(pd)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c := &check{}
	res := &caseRes{}
	start := time.Now()
	defer func() { o.dur = time.Since(start) }()
	done := make(chan struct{})
	var panicked string
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil && r != errFatal && r != errSkip {
				panicked = fmt.Sprintf("%v\n%s", r, debug.Stack())
			}
		}()
		setup, cancelSetup := context.WithTimeout(ctx, 20*time.Second)
		defer cancelSetup()
		conn, ps, err := pd.connect(setup, ourClient, b.peerOpts)
		if err != nil {
			c.Fatalf("connecting to %s: %v", pd.name, err)
		}
		tp := newTap()
		res.mu.Lock()
		res.conn, res.ps, res.tap = conn, ps, tp
		res.mu.Unlock()
		ls, err := local.NewSession(&tapConn{Conn: conn, tap: tp}, ourClient, b.localOpts)
		if err != nil {
			c.Fatalf("%s session: %v", local.Name(), err)
		}
		res.mu.Lock()
		res.ls = ls
		res.mu.Unlock()
		b.run(&env{check: c, ctx: ctx, local: local, ls: ls, peer: pd, ps: ps, tap: tp, ourClient: ourClient})
	}()

	hung := false
	select {
	case <-done:
	case <-time.After(timeout + 10*time.Second):
		hung = true
		o.hard = append(o.hard, fmt.Sprintf("HANG: the scenario did not return within %v (its own deadline was %v)", timeout+10*time.Second, timeout))
	}

	// Teardown, bounded: our session first, then the peer, then the socket.
	res.mu.Lock()
	conn, ls, ps, tp := res.conn, res.ls, res.ps, res.tap
	res.mu.Unlock()
	tornDown := make(chan struct{})
	go func() {
		defer close(tornDown)
		if ls != nil {
			ls.Close()
		}
		if ps != nil {
			ps.Shutdown()
		}
		if conn != nil {
			conn.Close()
		}
	}()
	select {
	case <-tornDown:
	case <-time.After(15 * time.Second):
		o.hard = append(o.hard, "HANG: teardown (Session.Close / peer shutdown) did not finish within 15s")
	}
	if hung {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			o.hard = append(o.hard, "the scenario goroutine is still blocked after teardown:\n"+allStacks())
		}
	}
	if panicked != "" {
		o.hard = append(o.hard, "PANIC: "+panicked)
	}

	// Wire checks on everything our side sent and received.
	var wire []string // failures of the peer's wire behaviour
	if tp != nil {
		s := tp.snapshot()
		c.Logf("wire: %v", s)
		if s.Out.Violations > 0 {
			o.hard = append(o.hard, fmt.Sprintf("%s sent DATA beyond the peer's window %d times: %s", local.Name(), s.Out.Violations, s.Out.FirstViol))
		}
		if s.In.Violations > 0 {
			wire = append(wire, fmt.Sprintf("the peer sent DATA beyond our window %d times: %s", s.In.Violations, s.In.FirstViol))
		}
		if s.Out.BadHeader != "" {
			o.hard = append(o.hard, fmt.Sprintf("%s wrote an invalid frame header: %s", local.Name(), s.Out.BadHeader))
		}
		if s.In.BadHeader != "" {
			wire = append(wire, fmt.Sprintf("the peer sent an invalid frame header: %s", s.In.BadHeader))
		}
		if local.isOurs() {
			if s.Out.DataFIN > 0 {
				o.hard = append(o.hard, fmt.Sprintf("we sent FIN on %d DATA frames (must be on its own WINDOW_UPDATE)", s.Out.DataFIN))
			}
			if s.Out.MaxData > 64<<10 {
				o.hard = append(o.hard, fmt.Sprintf("we sent a %d-byte DATA frame (MaxMessageSize is 64 KiB)", s.Out.MaxData))
			}
			if s.Out.PingBadFlags > 0 {
				o.hard = append(o.hard, fmt.Sprintf("we sent %d PING frames with flags other than exactly SYN or ACK", s.Out.PingBadFlags))
			}
		}
	}

	c.mu.Lock()
	o.logs = append([]string(nil), c.logs...)
	o.notes = append([]string(nil), c.notes...)
	o.skipped = c.skipped
	c.mu.Unlock()
	o.fails = append(c.failures(), wire...)
	switch {
	case len(o.hard) > 0:
		o.status = "FAIL"
	case o.skipped != "":
		o.status = "skip"
	case len(o.fails) > 0 && pd.informational:
		o.status = "xfail"
	case len(o.fails) > 0:
		o.status = "FAIL"
	default:
		o.status = "pass"
	}
	if o.status == "FAIL" || o.status == "xfail" {
		if ps != nil {
			o.diag = ps.Diag()
		}
		if ls != nil {
			o.diag = fmt.Sprintf("our session Err(): %v\n%s", ls.Err(), o.diag)
		}
	}
	return o
}

func (o outcome) report(t *testing.T, pd *peerDesc) {
	t.Helper()
	for _, l := range o.logs {
		t.Log(l)
	}
	switch o.status {
	case "skip":
		t.Skip(o.skipped)
	case "xfail":
		t.Logf("EXPECTED FAILURE (informational peer %s); our side returned in %v:\n  %s\n%s", pd.name,
			o.dur.Round(time.Millisecond), strings.Join(o.fails, "\n  "), clip(o.diag, 3000))
	case "FAIL":
		for _, f := range o.hard {
			t.Error(f)
		}
		for _, f := range o.fails {
			if pd.informational {
				t.Log("(informational) " + f)
			} else {
				t.Error(f)
			}
		}
		t.Log(clip(o.diag, 6000))
	}
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "\n...(clipped)"
}

// ------------------------------------------------------- goroutine checks

// libGoroutines returns the ids of goroutines with a frame of the
// implementation's own packages.
func libGoroutines(i impl) map[string]string {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	out := map[string]string{}
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		s := string(g)
		for _, p := range i.goroutinePrefixes() {
			if strings.Contains(s, "\n"+p) {
				id := strings.Fields(s)[1]
				out[id] = s
				break
			}
		}
	}
	return out
}

func allStacks() string {
	buf := make([]byte, 8<<20)
	return clip(string(buf[:runtime.Stack(buf, true)]), 30000)
}

func waitLibGoroutines(i impl, before map[string]string, d time.Duration) string {
	deadline := time.Now().Add(d)
	for {
		var leaked []string
		for id, s := range libGoroutines(i) {
			if _, ok := before[id]; !ok {
				leaked = append(leaked, s)
			}
		}
		if len(leaked) == 0 {
			return ""
		}
		if time.Now().After(deadline) {
			sort.Strings(leaked)
			return clip(strings.Join(leaked, "\n\n"), 8000)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ------------------------------------------------------------------ matrix

type cell struct {
	status string
	dur    time.Duration
	note   string
}

var (
	matrixMu sync.Mutex
	matrix   = map[[4]string]cell{} // local, peer, role, behaviour
	order    [][4]string
)

func recordResult(local, peer, role, beh string, o outcome) {
	matrixMu.Lock()
	defer matrixMu.Unlock()
	k := [4]string{local, peer, role, beh}
	if _, ok := matrix[k]; !ok {
		order = append(order, k)
	}
	note := strings.Join(o.notes, "; ")
	if o.status == "xfail" && len(o.fails) > 0 {
		note = o.fails[0]
	}
	if o.status == "FAIL" {
		all := append(append([]string(nil), o.hard...), o.fails...)
		if len(all) > 0 {
			note = all[0]
		}
	}
	matrix[k] = cell{o.status, o.dur, note}
}

// matrixMarkdown renders, per local implementation, a status table (rows =
// behaviours, columns = peer x our role) and a table of the measured notes.
func matrixMarkdown() string {
	matrixMu.Lock()
	defer matrixMu.Unlock()
	if len(order) == 0 {
		return ""
	}
	type col struct{ peer, role string }
	var b strings.Builder
	var locals []string
	seenL := map[string]bool{}
	for _, k := range order {
		if !seenL[k[0]] {
			seenL[k[0]] = true
			locals = append(locals, k[0])
		}
	}
	for _, l := range locals {
		var cols []col
		var rows []string
		seenC, seenR := map[col]bool{}, map[string]bool{}
		for _, k := range order {
			if k[0] != l {
				continue
			}
			if c := (col{k[1], k[2]}); !seenC[c] {
				seenC[c] = true
				cols = append(cols, c)
			}
			if !seenR[k[3]] {
				seenR[k[3]] = true
				rows = append(rows, k[3])
			}
		}
		table := func(title string, cellText func(cell) string) {
			fmt.Fprintf(&b, "\n%s\n\n| behaviour |", title)
			for _, c := range cols {
				role := "we dial"
				if c.role == "server" {
					role = "we listen"
				}
				fmt.Fprintf(&b, " %s, %s |", c.peer, role)
			}
			b.WriteString("\n|---|")
			for range cols {
				b.WriteString("---|")
			}
			b.WriteString("\n")
			for _, r := range rows {
				fmt.Fprintf(&b, "| %s |", r)
				for _, c := range cols {
					x, ok := matrix[[4]string{l, c.peer, c.role, r}]
					if !ok {
						b.WriteString(" – |")
						continue
					}
					txt := strings.ReplaceAll(cellText(x), "|", "/")
					txt = strings.Join(strings.Fields(txt), " ")
					fmt.Fprintf(&b, " %s |", txt)
				}
				b.WriteString("\n")
			}
		}
		table(fmt.Sprintf("### Results, our side = %s", l), func(x cell) string { return x.status })
		table(fmt.Sprintf("### Measurements and failure reasons, our side = %s", l), func(x cell) string {
			if x.note == "" {
				return fmt.Sprintf("%v", x.dur.Round(10*time.Millisecond))
			}
			return clip(x.note, 160)
		})
	}
	return b.String()
}
