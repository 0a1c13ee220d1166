package multistream

import (
	"fmt"
	"io"
	"slices"
)

// Negotiate runs the listener side on rw with the protocols in supported:
// it sends its header while reading the dialer's, answers "na" to every
// proposal it does not support (including "ls", which it does not
// implement) and echoes, then returns, the first one it does. After a
// successful return rw carries that protocol; application bytes the dialer
// sent along with its proposal (lazy select) are still unread in rw.
func Negotiate(rw io.ReadWriter, supported []string) (string, error) {
	return NegotiateFunc(rw, func(p string) bool { return slices.Contains(supported, p) })
}

// NegotiateFunc is Negotiate with a predicate instead of a list, for
// listeners whose protocol set changes (a host's stream handlers).
func NegotiateFunc(rw io.ReadWriter, supported func(protocol string) bool) (string, error) {
	header, _ := AppendMessage(nil, ProtocolID)
	var p string
	// The first proposal is read while our header is still being written:
	// a dialer that sent header and proposal in one write to an unbuffered
	// transport only reads once that write is done.
	err := exchange(rw, header, func() error {
		if err := readHeader(rw); err != nil {
			return err
		}
		var err error
		p, err = readProposal(rw)
		return err
	})
	if err != nil {
		return "", err
	}
	for i := range MaxProposals {
		if i > 0 {
			if p, err = readProposal(rw); err != nil {
				return "", err
			}
		}
		if supported(p) {
			if err := WriteMessage(rw, p); err != nil {
				return "", fmt.Errorf("multistream: accepting %q: %w", p, err)
			}
			return p, nil
		}
		if err := WriteMessage(rw, NA); err != nil {
			return "", fmt.Errorf("multistream: refusing %q: %w", truncate(p), err)
		}
	}
	return "", fmt.Errorf("%w: %d refused", ErrTooManyProposals, MaxProposals)
}

func readProposal(r io.Reader) (string, error) {
	p, err := ReadMessage(r)
	if err != nil {
		return "", fmt.Errorf("multistream: reading a proposal: %w", err)
	}
	return p, nil
}
