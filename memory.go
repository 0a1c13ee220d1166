package yamux

import (
	"errors"
	"fmt"
	"sync"
)

// MemoryManager accounts for the receive-window memory of one stream, for
// an application that budgets memory across more than one session (the
// shape of go-libp2p's network.ResourceScopeSpan, which satisfies it).
//
// A stream reserves its initial receive window (InitialStreamWindowSize)
// at priority 255 when it is opened or accepted, and each growth of that
// window at priority 128; a refused growth leaves the window as it is. Done
// ends the stream's accounting and releases everything it reserved; the
// session calls it exactly once per manager, when the stream closes, is
// reset or the session ends, and calls nothing on the manager after it.
// ReleaseMemory is not called: Done releases all.
//
// The methods are called from the session's goroutines and from the
// application's Read, sometimes with a stream's lock held: they must not
// block for long and must not call back into the session or its streams.
type MemoryManager interface {
	// ReserveMemory reserves size bytes; an error refuses them.
	ReserveMemory(size int, prio uint8) error
	// ReleaseMemory gives back size bytes reserved earlier.
	ReleaseMemory(size int)
	// Done releases everything still reserved and ends the manager.
	Done()
}

// Reservation priorities (go-libp2p's scale: a reservation at priority p
// fails once usage exceeds (p+1)/256 of the limit).
const (
	// memPrioInitial: the initial window, without which the stream cannot
	// work at all.
	memPrioInitial uint8 = 255
	// memPrioGrowth: window growth, which only makes the stream faster.
	memPrioGrowth uint8 = 128
)

// ErrMemoryRefused is matched by OpenStream's error when
// Config.MemoryManager could not be created or refused the initial window;
// it also wraps the manager's own error. The session is unaffected. An
// inbound stream refused this way is answered with RST and never reaches
// AcceptStream.
var ErrMemoryRefused = errors.New("yamux: memory manager refused the stream")

// streamMemory is a stream's MemoryManager. A nil *streamMemory stands for
// "no manager configured": the session budget applies instead.
type streamMemory struct {
	mm     MemoryManager
	growFn func(extra uint32) bool // grow as a func value, made once
	// mu orders grow against done, so that nothing is reserved after
	// Done: a span of go-libp2p's would keep such bytes forever.
	mu       sync.Mutex
	finished bool
}

// reserveStream creates the manager of a new stream and reserves its
// initial window; nil, nil without Config.MemoryManager. The caller owns
// the result and must call done on it if the stream does not come to be.
func (s *Session) reserveStream() (*streamMemory, error) {
	newManager := s.config.MemoryManager
	if newManager == nil {
		return nil, nil
	}
	mm, err := newManager()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMemoryRefused, err)
	}
	if mm == nil {
		return nil, fmt.Errorf("%w: Config.MemoryManager returned no manager", ErrMemoryRefused)
	}
	if err := mm.ReserveMemory(int(s.config.InitialStreamWindowSize), memPrioInitial); err != nil {
		mm.Done()
		return nil, fmt.Errorf("%w: initial window: %w", ErrMemoryRefused, err)
	}
	m := &streamMemory{mm: mm}
	m.growFn = m.grow
	return m, nil
}

func (m *streamMemory) grow(extra uint32) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.finished && m.mm.ReserveMemory(int(extra), memPrioGrowth) == nil
}

// growOr returns the function that reserves window growth: the manager's,
// or fallback (the session budget) when there is none.
func (m *streamMemory) growOr(fallback func(uint32) bool) func(uint32) bool {
	if m == nil {
		return fallback
	}
	return m.growFn
}

// done ends the manager, once; a no-op on nil.
func (m *streamMemory) done() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.finished {
		m.finished = true
		m.mm.Done()
	}
}

// releaseMemory gives back what a finished stream holds: its manager's
// reservations, or its growth from the session budget.
func (st *Stream) releaseMemory(grown uint32) {
	if st.mem != nil {
		st.mem.done()
		return
	}
	st.session.releaseWindow(grown)
}
