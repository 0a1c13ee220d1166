package yamux_test

import (
	"bytes"
	"io"
	"math"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/yamuxgo/yamux"
)

// joinedErrors returns the errors joined in err: VerifyConfig reports one per
// bad field through errors.Join.
func joinedErrors(t testing.TB, err error) []error {
	t.Helper()
	if err == nil {
		return nil
	}
	u, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("VerifyConfig error %T does not implement Unwrap() []error, want errors.Join", err)
	}
	return u.Unwrap()
}

func TestDefaultConfig(t *testing.T) {
	got := yamux.DefaultConfig()
	want := yamux.Config{
		AcceptBacklog:           256,
		MaxIncomingStreams:      1000,
		EnableKeepAlive:         true,
		KeepAliveInterval:       30 * time.Second,
		KeepAliveTimeout:        10 * time.Second,
		ConnectionWriteTimeout:  10 * time.Second,
		InitialStreamWindowSize: 256 * kib,
		MaxStreamWindowSize:     16 * mib,
		MaxSessionReceiveBuffer: 64 * mib,
		MaxMessageSize:          64 * kib,
		StreamOpenTimeout:       75 * time.Second,
		StreamCloseTimeout:      5 * time.Minute,
		GoAwayDrainTimeout:      30 * time.Second,
		Logger:                  nil,
	}
	// Config holds a func field (MemoryManager), so it is compared with
	// reflect.DeepEqual, which treats two nil funcs as equal.
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("DefaultConfig() = %+v, want %+v", *got, want)
	}
	if err := yamux.VerifyConfig(got); err != nil {
		t.Fatalf("VerifyConfig(DefaultConfig()) = %v, want nil", err)
	}
	// Each call returns a fresh value.
	got.AcceptBacklog = 1
	if again := yamux.DefaultConfig(); again.AcceptBacklog != 256 {
		t.Fatalf("DefaultConfig().AcceptBacklog after mutating a previous result = %d, want 256", again.AcceptBacklog)
	}
}

func TestVerifyConfigNilAndZero(t *testing.T) {
	if err := yamux.VerifyConfig(nil); err != nil {
		t.Fatalf("VerifyConfig(nil) = %v, want nil", err)
	}
	if err := yamux.VerifyConfig(&yamux.Config{}); err != nil {
		t.Fatalf("VerifyConfig(&Config{}) = %v, want nil (zero means default)", err)
	}
}

// TestVerifyConfigFields checks each field at the edges of its range,
// starting from the zero Config so only that field is set.
func TestVerifyConfigFields(t *testing.T) {
	type tc struct {
		name string
		set  func(*yamux.Config)
		ok   bool
	}
	var tests []tc
	add := func(name string, set func(*yamux.Config), ok bool) {
		tests = append(tests, tc{name, set, ok})
	}
	ints := []struct {
		name string
		f    func(*yamux.Config) *int
	}{
		{"AcceptBacklog", func(c *yamux.Config) *int { return &c.AcceptBacklog }},
		{"MaxIncomingStreams", func(c *yamux.Config) *int { return &c.MaxIncomingStreams }},
		{"MaxSessionReceiveBuffer", func(c *yamux.Config) *int { return &c.MaxSessionReceiveBuffer }},
	}
	for _, f := range ints {
		for _, v := range []struct {
			v  int
			ok bool
		}{{math.MinInt, false}, {-1, false}, {0, true}, {1, true}, {math.MaxInt, true}} {
			add(f.name+"="+strconv.Itoa(v.v), func(c *yamux.Config) { *f.f(c) = v.v }, v.ok)
		}
	}
	durations := []struct {
		name string
		f    func(*yamux.Config) *time.Duration
	}{
		{"KeepAliveInterval", func(c *yamux.Config) *time.Duration { return &c.KeepAliveInterval }},
		{"KeepAliveTimeout", func(c *yamux.Config) *time.Duration { return &c.KeepAliveTimeout }},
		{"ConnectionWriteTimeout", func(c *yamux.Config) *time.Duration { return &c.ConnectionWriteTimeout }},
		{"StreamOpenTimeout", func(c *yamux.Config) *time.Duration { return &c.StreamOpenTimeout }},
		{"StreamCloseTimeout", func(c *yamux.Config) *time.Duration { return &c.StreamCloseTimeout }},
		{"GoAwayDrainTimeout", func(c *yamux.Config) *time.Duration { return &c.GoAwayDrainTimeout }},
	}
	for _, f := range durations {
		for _, v := range []struct {
			v  time.Duration
			ok bool
		}{{-time.Hour, false}, {-1, false}, {0, true}, {1, true}, {time.Hour, true}} {
			add(f.name+"="+v.v.String(), func(c *yamux.Config) { *f.f(c) = v.v }, v.ok)
		}
	}
	windows := []struct {
		name string
		f    func(*yamux.Config) *uint32
	}{
		{"InitialStreamWindowSize", func(c *yamux.Config) *uint32 { return &c.InitialStreamWindowSize }},
		{"MaxStreamWindowSize", func(c *yamux.Config) *uint32 { return &c.MaxStreamWindowSize }},
	}
	for _, f := range windows {
		for _, v := range []struct {
			v  uint32
			ok bool
		}{
			{1, false},
			{256*kib - 1, false},
			{256 * kib, true},
			{gib, true},
			{gib + 1, false},
			{1<<32 - 1, false},
		} {
			add(f.name+"="+strconv.Itoa(int(v.v)), func(c *yamux.Config) { *f.f(c) = v.v }, v.ok)
		}
	}
	for _, v := range []struct {
		v  int
		ok bool
	}{
		{-1, false},
		{1, false},
		{1023, false},
		{1024, true},
		{mib, true},
		{mib + 1, false},
	} {
		add("MaxMessageSize="+strconv.Itoa(v.v), func(c *yamux.Config) { c.MaxMessageSize = v.v }, v.ok)
	}
	// Initial against Max, both set.
	add("Initial=Max=512KiB", func(c *yamux.Config) {
		c.InitialStreamWindowSize, c.MaxStreamWindowSize = 512*kib, 512*kib
	}, true)
	add("Initial=512KiB>Max=256KiB", func(c *yamux.Config) {
		c.InitialStreamWindowSize, c.MaxStreamWindowSize = 512*kib, 256*kib
	}, false)
	add("Initial=Max+1", func(c *yamux.Config) {
		c.InitialStreamWindowSize, c.MaxStreamWindowSize = 512*kib+1, 512*kib
	}, false)
	// Initial above the default Max, Max left zero: the default ceiling
	// follows the initial window.
	add("Initial=32MiB,Max=default", func(c *yamux.Config) { c.InitialStreamWindowSize = 32 * mib }, true)

	for _, tt := range tests {
		for _, base := range []struct {
			name string
			new  func() *yamux.Config
		}{
			{"zero", func() *yamux.Config { return &yamux.Config{} }},
			{"default", yamux.DefaultConfig},
		} {
			c := base.new()
			if base.name == "default" {
				// The window pair is checked together: keep the default
				// Max from making a valid Initial invalid and vice versa.
				c.InitialStreamWindowSize, c.MaxStreamWindowSize = 0, 0
			}
			tt.set(c)
			err := yamux.VerifyConfig(c)
			errs := joinedErrors(t, err)
			if tt.ok && err != nil {
				t.Errorf("%s (from %s): VerifyConfig = %v, want nil", tt.name, base.name, err)
			}
			if !tt.ok && len(errs) != 1 {
				t.Errorf("%s (from %s): VerifyConfig reported %d errors (%v), want 1", tt.name, base.name, len(errs), err)
			}
		}
	}
}

func TestVerifyConfigJoinsEveryBadField(t *testing.T) {
	c := &yamux.Config{
		AcceptBacklog:     -1,
		KeepAliveInterval: -time.Second,
		MaxMessageSize:    1,
	}
	errs := joinedErrors(t, yamux.VerifyConfig(c))
	if len(errs) != 3 {
		t.Fatalf("VerifyConfig with 3 bad fields reported %d errors (%v), want 3", len(errs), errs)
	}
	for i, err := range errs {
		if err == nil {
			t.Errorf("joined error %d is nil, want an error", i)
		}
	}

	all := &yamux.Config{
		AcceptBacklog:           -1,
		MaxIncomingStreams:      -1,
		KeepAliveInterval:       -1,
		KeepAliveTimeout:        -1,
		ConnectionWriteTimeout:  -1,
		InitialStreamWindowSize: 1,
		MaxStreamWindowSize:     1,
		MaxSessionReceiveBuffer: -1,
		MaxMessageSize:          -1,
		StreamOpenTimeout:       -1,
		StreamCloseTimeout:      -1,
		GoAwayDrainTimeout:      -1,
	}
	if errs := joinedErrors(t, yamux.VerifyConfig(all)); len(errs) != 12 {
		t.Fatalf("VerifyConfig with 12 bad fields reported %d errors (%v), want 12", len(errs), errs)
	}
}

func TestClientServerRejectBadConfig(t *testing.T) {
	bad := &yamux.Config{AcceptBacklog: -1, MaxMessageSize: 10}
	want := joinedErrors(t, yamux.VerifyConfig(bad))
	if len(want) != 2 {
		t.Fatalf("VerifyConfig(bad) reported %d errors, want 2", len(want))
	}
	for _, side := range []struct {
		name string
		new  func(io.ReadWriteCloser, *yamux.Config) (*yamux.Session, error)
	}{
		{"Client", yamux.Client},
		{"Server", yamux.Server},
	} {
		c1, c2 := memPair(t)
		s, err := side.new(c1, bad)
		if err == nil {
			s.Close()
			t.Fatalf("%s(bad config) error = nil, want the VerifyConfig error", side.name)
		}
		if s != nil {
			t.Errorf("%s(bad config) session = %v, want nil", side.name, s)
		}
		got := joinedErrors(t, err)
		if len(got) != len(want) {
			t.Errorf("%s(bad config) reported %d errors, want %d as VerifyConfig", side.name, len(got), len(want))
		}
		// Nothing was written: no session started on the connection.
		c1.Close()
		if n, err := io.Copy(io.Discard, c2); n != 0 || err != nil {
			t.Errorf("%s(bad config) wrote %d bytes (read error %v), want 0", side.name, n, err)
		}
		c2.Close()
	}
}

// TestZeroConfigSession: a Config with every field zero means the defaults;
// such sessions open, transfer more than one window, and close.
func TestZeroConfigSession(t *testing.T) {
	ccfg, scfg := &yamux.Config{}, &yamux.Config{}
	client, server := sessionPair(t, memPair, ccfg, scfg)

	const size = 1 << 20 // four initial windows: needs window updates
	payload := bytes.Repeat([]byte("0123456789abcdef"), size/16)

	st, err := client.OpenStream()
	if err != nil {
		t.Fatalf("OpenStream: %v", err)
	}
	writeErr := make(chan error, 1)
	go func() {
		_, err := st.Write(payload)
		if err == nil {
			err = st.CloseWrite()
		}
		writeErr <- err
	}()

	peer, err := server.AcceptStream()
	if err != nil {
		t.Fatalf("AcceptStream: %v", err)
	}
	got, err := io.ReadAll(peer)
	if err != nil {
		t.Fatalf("reading the stream: %v", err)
	}
	if err := <-writeErr; err != nil {
		t.Fatalf("Write+CloseWrite: %v", err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("received %d bytes, want the %d bytes written", len(got), len(payload))
	}

	// And the other direction, on the same stream.
	if _, err := peer.Write([]byte("pong")); err != nil {
		t.Fatalf("server Write: %v", err)
	}
	if err := peer.Close(); err != nil {
		t.Fatalf("server Close: %v", err)
	}
	back, err := io.ReadAll(st)
	if err != nil || string(back) != "pong" {
		t.Fatalf("client read = %q, %v; want \"pong\", nil", back, err)
	}
	st.Close()

	if !reflect.DeepEqual(*ccfg, yamux.Config{}) || !reflect.DeepEqual(*scfg, yamux.Config{}) {
		t.Fatalf("configs after use = %+v, %+v; want untouched zero values", *ccfg, *scfg)
	}
}

// TestConfigNotMutated: the session fills defaults into its own copy; the
// caller's Config is never written, even where the defaults interact.
func TestConfigNotMutated(t *testing.T) {
	configs := []*yamux.Config{
		{},
		{InitialStreamWindowSize: 32 * mib}, // above the default Max: Max follows in the copy
		{EnableKeepAlive: true, KeepAliveInterval: time.Hour},
		yamux.DefaultConfig(),
	}
	for i, cfg := range configs {
		before := *cfg
		client, server := sessionPair(t, memPair, cfg, cfg)
		if _, err := client.Ping(); err != nil {
			t.Fatalf("config %d: Ping: %v", i, err)
		}
		if err := client.Close(); err != nil {
			t.Fatalf("config %d: client Close: %v", i, err)
		}
		waitClosed(t, server, 10*time.Second)
		if !reflect.DeepEqual(*cfg, before) {
			t.Errorf("config %d after a session = %+v, want unchanged %+v", i, *cfg, before)
		}
	}
}

// TestVerifyConfigDoesNotMutate covers the same promise for VerifyConfig.
func TestVerifyConfigDoesNotMutate(t *testing.T) {
	cfg := &yamux.Config{AcceptBacklog: -1, InitialStreamWindowSize: 32 * mib}
	before := *cfg
	if err := yamux.VerifyConfig(cfg); err == nil {
		t.Fatalf("VerifyConfig(AcceptBacklog -1) = nil, want an error")
	}
	if !reflect.DeepEqual(*cfg, before) {
		t.Fatalf("config after VerifyConfig = %+v, want unchanged %+v", *cfg, before)
	}
}
