package yamux

// reclaimSpent prepares a FIFO kept as a slice, whose entries before head
// are spent, for an append: it starts the slice over when every entry is
// spent, moves the live entries to the front when the slice is full and at
// least half of it is spent, and returns the slice and head to use. A FIFO that is only reset when it empties grows by
// one entry per item that ever passed through it if busy producers keep it
// from emptying: the send lane under 64 bulk streams reached 30,720
// entries after 6 GiB. Moving live entries only when as many spent ones are
// reclaimed keeps an append O(1) amortised, and the slice under four times
// the entries live at once. Spent entries are zeroed, so they pin nothing.
func reclaimSpent[T any](items []T, head int) ([]T, int) {
	if head == 0 || head < len(items) && (len(items) < cap(items) || 2*head < len(items)) {
		return items, head
	}
	n := copy(items, items[head:])
	clear(items[n:])
	return items[:n], 0
}
