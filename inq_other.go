//go:build !linux

package yamux

// inqProbe is Linux's check for unread bytes on a socket (inq_linux.go);
// elsewhere there is none, and a Read parked in the network poller is
// left to the runtime.
type inqProbe struct{}

func newInqProbe(any) *inqProbe { return nil }

func (*inqProbe) pending() bool { return false }

func (*inqProbe) unread() (int, bool) { return 0, false }
