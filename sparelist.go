package yamux

import "sync"

// spareMax is how many buffers a spareList keeps.
const spareMax = 16

// spareList keeps up to spareMax spare buffers (the largest receive
// chunks, send rings, large read buffers) for whoever needs one next, out
// of the garbage collector's reach, unlike a sync.Pool; process-wide, so
// it costs a bounded amount however many sessions there are.
type spareList[T any] struct {
	mu   sync.Mutex
	n    int
	free [spareMax]T
}

// take returns a spare buffer, if there is one.
func (l *spareList[T]) take() (T, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var zero T
	if l.n == 0 {
		return zero, false
	}
	l.n--
	v := l.free[l.n]
	l.free[l.n] = zero
	return v, true
}

// give keeps v as a spare and reports whether it did (false: the list is
// full, and v is left to the garbage collector or another pool).
func (l *spareList[T]) give(v T) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == spareMax {
		return false
	}
	l.free[l.n] = v
	l.n++
	return true
}
