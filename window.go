package yamux

import (
	"errors"
	"math"
	"time"
)

// errWindowOverflow: a WINDOW_UPDATE would push the send window past
// 2^32-1 (spec.md §4.5). Checked, never wrapped.
var errWindowOverflow = errors.New("yamux: send window overflow")

// addSendWindow adds a peer's credit to a send window with checked
// arithmetic.
func addSendWindow(window, delta uint32) (uint32, error) {
	sum := uint64(window) + uint64(delta)
	if sum > math.MaxUint32 {
		return window, errWindowOverflow
	}
	return uint32(sum), nil
}

// recvWindow is the receive-direction flow control of one stream
// (spec.md §4). It is a plain value guarded by the stream's mutex; time and
// RTT are passed in so it can be tested without clocks.
type recvWindow struct {
	// size is the window we aim to keep open: initial, grown by
	// auto-tuning up to the configured maximum.
	size uint32
	// granted is how many more DATA bytes the peer may send us.
	granted uint32
	// epoch is when the last window update was sent (epochOf; 0: none
	// yet), 8 bytes where a time.Time takes 24; auto-tuning compares
	// the time to consume half a window with the RTT.
	epoch int64
}

// epochBase is the origin of recvWindow.epoch. Both it and the times
// update is given carry the monotonic clock, so their difference does.
var epochBase = time.Now()

// epochOf encodes t for recvWindow.epoch: never 0, which means unset.
func epochOf(t time.Time) int64 {
	if e := int64(t.Sub(epochBase)); e != 0 {
		return e
	}
	return 1
}

func newRecvWindow(size uint32) recvWindow {
	return recvWindow{size: size, granted: initialWindow}
}

// receive accounts for n DATA bytes announced by a header. More than we
// granted is a protocol violation.
func (w *recvWindow) receive(n uint32) error {
	if n > w.granted {
		return ErrRecvWindowExceeded
	}
	w.granted -= n
	return nil
}

// update returns the delta of the window update to send now, or 0 when
// none is due yet. buffered is how many received bytes the application has
// not read; only read bytes are credited back. Updates are batched: one is
// due once at least half the window can be returned. If the previous
// update was less than four RTTs ago, the sender is limited by our window,
// so the window doubles, up to max, when grow agrees to reserve the extra
// bytes from the session budget.
func (w *recvWindow) update(buffered uint32, now time.Time, rtt time.Duration, max uint32, grow func(extra uint32) bool) uint32 {
	credit := w.credit(buffered)
	if credit < w.size/2 {
		return 0
	}
	t := epochOf(now)
	if rtt > 0 && w.epoch != 0 && t-w.epoch < int64(4*rtt) && w.size < max {
		next := uint32(min(uint64(w.size)*2, uint64(max)))
		if grow(next - w.size) {
			w.size = next
			credit = w.credit(buffered)
		}
	}
	w.epoch = t
	w.granted += credit
	return credit
}

// credit is how much window can be returned: the target size less what the
// peer may still send and what sits unread.
func (w *recvWindow) credit(buffered uint32) uint32 {
	used := uint64(w.granted) + uint64(buffered)
	if used >= uint64(w.size) {
		return 0
	}
	return w.size - uint32(used)
}
