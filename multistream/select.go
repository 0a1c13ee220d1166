package multistream

import (
	"fmt"
	"io"
)

// SelectOneOf runs the dialer side on rw: it sends the header together with
// the first proposal, reads the listener's header, and proposes protocols
// in order until one is echoed, which it returns. If the listener answers
// "na" to all of them, the error is a *NotSupportedError (matching
// ErrNotSupported) listing them. After a successful return rw carries the
// selected protocol; after an error it should be closed.
func SelectOneOf(protocols []string, rw io.ReadWriter) (string, error) {
	if len(protocols) == 0 {
		return "", ErrNoProtocols
	}
	for _, p := range protocols {
		if err := checkMessage(p); err != nil {
			return "", fmt.Errorf("multistream: cannot propose %q: %w", truncate(p), err)
		}
	}
	first, _ := AppendMessage(nil, ProtocolID)
	first, _ = AppendMessage(first, protocols[0])
	var reply string
	err := exchange(rw, first, func() error {
		if err := readHeader(rw); err != nil {
			return err
		}
		var err error
		reply, err = readReply(rw, protocols[0])
		return err
	})
	if err != nil {
		return "", err
	}
	for i, p := range protocols {
		if i > 0 {
			if err := WriteMessage(rw, p); err != nil {
				return "", fmt.Errorf("multistream: proposing %q: %w", p, err)
			}
			if reply, err = readReply(rw, p); err != nil {
				return "", err
			}
		}
		if reply == p {
			return p, nil
		}
	}
	return "", &NotSupportedError{Protocols: append([]string(nil), protocols...)}
}

// readReply reads the listener's answer to proposal p: the echo or "na".
func readReply(r io.Reader, p string) (string, error) {
	msg, err := ReadMessage(r)
	if err != nil {
		return "", fmt.Errorf("multistream: reading the reply to %q: %w", p, err)
	}
	if msg != p && msg != NA {
		return "", fmt.Errorf("%w: %q in answer to %q", ErrUnexpectedReply, truncate(msg), p)
	}
	return msg, nil
}
