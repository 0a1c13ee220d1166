package host

// IsLazy reports whether NewStream chose the lazy negotiation for s.
func IsLazy(s *Stream) bool { return s.lazy != nil }
