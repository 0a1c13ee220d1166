package noise

// Internals the black-box tests need.

// AppendPayload encodes a NoiseHandshakePayload for hand-built peers.
func AppendPayload(key, sig []byte, muxers []string) []byte {
	return appendPayload(nil, &handshakePayload{identityKey: key, identitySig: sig, streamMuxers: muxers})
}

// PayloadMuxers decodes a payload and returns its stream_muxers list.
func PayloadMuxers(b []byte) ([]string, error) {
	p, err := decodePayload(b)
	return p.streamMuxers, err
}

// SetNonces moves c's message counters, to reach nonce exhaustion.
func SetNonces(c *Conn, send, recv uint64) {
	c.writeMu.Lock()
	c.send.n = send
	c.writeMu.Unlock()
	c.readMu.Lock()
	c.recv.n = recv
	c.readMu.Unlock()
}

// SignaturePrefix is the prefix of the signed static key.
const SignaturePrefix = signaturePrefix
