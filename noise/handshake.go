package noise

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	fnoise "github.com/flynn/noise"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/yamuxgo/yamux/peer"
)

// ID is the libp2p protocol ID of this security protocol, negotiated with
// multistream-select before the handshake.
const ID = "/noise"

// Limits of the handshake.
const (
	// DefaultHandshakeTimeout bounds a handshake when Config.HandshakeTimeout
	// is zero.
	DefaultHandshakeTimeout = 15 * time.Second
	// MaxHandshakeMessageSize is the longest handshake message accepted. A
	// payload with an 8192-bit RSA key and signature needs about 2.2 KB;
	// anything past this bound is refused from its length prefix alone.
	MaxHandshakeMessageSize = 16 << 10
	// MaxMuxers is the longest stream_muxers list that takes part in the
	// negotiation; a longer list is ignored (as go-libp2p does), which
	// means falling back to multistream-select.
	MaxMuxers = 100
)

// signaturePrefix precedes the static key in the signed message (libp2p
// noise spec, "The libp2p Handshake Payload").
const signaturePrefix = "noise-libp2p-static-key:"

// Config configures a handshake. Only Identity is required.
type Config struct {
	// Identity is our libp2p identity; the handshake proves it to the peer.
	Identity *peer.PrivateKey
	// Muxers lists the stream multiplexer protocol IDs we support, most
	// preferred first, for inlined muxer negotiation (for example
	// []string{"/yamux/1.0.0"}). Empty sends no list, so the muxer is then
	// negotiated with multistream-select.
	Muxers []string
	// HandshakeTimeout bounds the whole handshake; zero means
	// DefaultHandshakeTimeout. A context deadline, if earlier, wins.
	HandshakeTimeout time.Duration
	// Rand is the source of the X25519 keys; nil means crypto/rand, with
	// one static key per Identity for the life of the process (made and
	// signed on its first handshake) and a fresh ephemeral key per
	// handshake. A non-nil Rand makes both keys per handshake from it. Only
	// tests set it.
	Rand io.Reader
}

// SecureOutbound runs the handshake as initiator (the dialer) over conn and
// returns the secured conn. remote is the peer we mean to reach: a responder
// that proves another identity fails the handshake with a
// *PeerIDMismatchError before any application data is exchanged. A zero
// remote accepts any peer (for tools that dial an address without a peer
// ID; the caller must then check RemotePeer itself).
//
// The handshake runs under the earlier of ctx's deadline and the handshake
// timeout, enforced with conn's deadline, and cancelling ctx aborts it. On
// failure conn is closed and the error matches ErrHandshake. On success
// conn's deadline is cleared and conn belongs to the returned Conn.
func SecureOutbound(ctx context.Context, conn net.Conn, cfg Config, remote peer.ID) (*Conn, error) {
	return handshake(ctx, conn, &cfg, true, remote)
}

// SecureInbound runs the handshake as responder (the listener) over conn.
// Any authenticated peer is accepted; RemotePeer tells which. Timeouts,
// cancellation and failures behave as for SecureOutbound.
func SecureInbound(ctx context.Context, conn net.Conn, cfg Config) (*Conn, error) {
	return handshake(ctx, conn, &cfg, false, peer.ID{})
}

func handshake(ctx context.Context, conn net.Conn, cfg *Config, initiator bool, remote peer.ID) (*Conn, error) {
	if cfg.Identity == nil {
		conn.Close()
		return nil, fmt.Errorf("%w: Config.Identity is nil", ErrHandshake)
	}
	timeout := cfg.HandshakeTimeout
	if timeout <= 0 {
		timeout = DefaultHandshakeTimeout
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := conn.SetDeadline(deadline); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: setting the deadline: %w", ErrHandshake, err)
	}
	// Cancellation interrupts blocked I/O by moving the deadline to the past.
	interrupted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		conn.SetDeadline(time.Unix(1, 0))
		close(interrupted)
	})

	hs := &handshakeState{conn: conn, cfg: cfg, initiator: initiator, remote: remote}
	c, err := hs.run()
	if !stop() {
		<-interrupted // the deadline was moved: the conn is no use now
		if err == nil {
			err = ctx.Err()
		} else if errors.Is(err, os.ErrDeadlineExceeded) {
			err = fmt.Errorf("%w: %w", ctx.Err(), err)
		}
	}
	if err == nil {
		err = conn.SetDeadline(time.Time{})
	}
	if err != nil {
		conn.Close()
		if !errors.Is(err, ErrHandshake) {
			err = fmt.Errorf("%w: %w", ErrHandshake, err)
		}
		return nil, err
	}
	return c, nil
}

// handshakeState is one run of the XX handshake; it is used by one goroutine.
type handshakeState struct {
	conn      net.Conn
	cfg       *Config
	initiator bool
	remote    peer.ID // expected; zero for any

	hs     *fnoise.HandshakeState
	static *localStatic
	buf    []byte // message buffer, reused
	// Learned from the peer.
	remoteKey    *peer.PublicKey
	remoteID     peer.ID
	remoteMuxers []string
}

// run performs XX: -> e; <- e, ee, s, es; -> s, se. The responder's payload
// rides in message 2 and the initiator's in message 3 (libp2p noise spec).
func (h *handshakeState) run() (*Conn, error) {
	rng := h.cfg.Rand
	var static *localStatic
	var err error
	if rng == nil {
		rng = rand.Reader
		static, err = staticFor(h.cfg.Identity)
	} else {
		// A test's source decides every key, so the static key is its own.
		static, err = newLocalStatic(h.cfg.Identity, rng)
	}
	if err != nil {
		return nil, err
	}
	h.static = static
	dh := &x25519DH{}
	h.hs, err = fnoise.NewHandshakeState(fnoise.Config{
		CipherSuite:   fnoise.NewCipherSuite(dh, fnoise.CipherChaChaPoly, fnoise.HashSHA256),
		Random:        rng,
		Pattern:       fnoise.HandshakeXX,
		Initiator:     h.initiator,
		StaticKeypair: dh.add(static.key),
	})
	if err != nil {
		return nil, err
	}
	var send, recv *fnoise.CipherState
	if h.initiator {
		if err := h.writeMessage(nil); err != nil { // msg 1: e, empty payload
			return nil, err
		}
		if err := h.readPayload(); err != nil { // msg 2
			return nil, err
		}
		payload, err := h.localPayload()
		if err != nil {
			return nil, err
		}
		cs1, cs2, err := h.writeMessageSplit(payload) // msg 3
		if err != nil {
			return nil, err
		}
		send, recv = cs1, cs2
	} else {
		// Message 1 has no payload by the spec; what a peer puts there is
		// unauthenticated and ignored.
		if _, _, _, err := h.readMessage(); err != nil {
			return nil, err
		}
		payload, err := h.localPayload()
		if err != nil {
			return nil, err
		}
		if err := h.writeMessage(payload); err != nil { // msg 2
			return nil, err
		}
		cs1, cs2, err := h.readPayloadSplit() // msg 3
		if err != nil {
			return nil, err
		}
		send, recv = cs2, cs1
	}
	ours, theirs := h.cfg.Muxers, h.remoteMuxers
	if !h.initiator {
		ours, theirs = theirs, ours
	}
	return newConn(h.conn, connParams{
		local:     h.cfg.Identity.ID(),
		remote:    h.remoteID,
		remoteKey: h.remoteKey,
		muxer:     selectMuxer(ours, theirs),
		send:      aeadOf(send),
		recv:      aeadOf(recv),
	}), nil
}

// aeadOf builds our own AEAD from a CipherState's key: flynn/noise's
// cipher allocates its nonce on every call, and the record layer must not
// allocate per message. The nonce layout stays that of flynn/noise (4 zero
// bytes, 64-bit little-endian counter) and counting restarts at 0, as
// Split leaves it.
func aeadOf(cs *fnoise.CipherState) *cipherState {
	k := cs.UnsafeKey()
	a, err := chacha20poly1305.New(k[:])
	if err != nil { // only for a key of the wrong length
		panic("noise: chacha20poly1305.New: " + err.Error())
	}
	return &cipherState{aead: a}
}

// localPayload is our signed NoiseHandshakePayload, with our muxer list.
func (h *handshakeState) localPayload() ([]byte, error) {
	return appendPayload(nil, &handshakePayload{
		identityKey:  h.cfg.Identity.Public().Marshal(),
		identitySig:  h.static.sig,
		streamMuxers: h.cfg.Muxers,
	}), nil
}

func signedMessage(static []byte) []byte {
	return append([]byte(signaturePrefix), static...)
}

func (h *handshakeState) readPayload() error {
	_, _, err := h.readPayloadSplit()
	return err
}

// readPayloadSplit reads message 2 or 3 and authenticates the peer: decode
// the identity key, derive its ID, compare with the expected ID, and check
// that the identity key signed the static key the handshake just proved.
func (h *handshakeState) readPayloadSplit() (cs1, cs2 *fnoise.CipherState, err error) {
	payload, cs1, cs2, err := h.readMessage()
	if err != nil {
		return nil, nil, err
	}
	p, err := decodePayload(payload)
	if err != nil {
		return nil, nil, err
	}
	if len(p.identityKey) == 0 || len(p.identitySig) == 0 {
		return nil, nil, fmt.Errorf("%w: no identity key or signature", ErrInvalidPayload)
	}
	key, err := peer.UnmarshalPublicKey(p.identityKey)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: identity key: %w", ErrInvalidPayload, err)
	}
	id := peer.IDFromPublicKey(key)
	if !h.remote.IsZero() && id != h.remote {
		return nil, nil, &PeerIDMismatchError{Expected: h.remote, Actual: id}
	}
	if err := key.Verify(signedMessage(h.hs.PeerStatic()), p.identitySig); err != nil {
		return nil, nil, fmt.Errorf("%w (peer %s): %w", ErrInvalidSignature, id, err)
	}
	h.remoteKey, h.remoteID, h.remoteMuxers = key, id, p.streamMuxers
	return cs1, cs2, nil
}

func (h *handshakeState) writeMessage(payload []byte) error {
	_, _, err := h.writeMessageSplit(payload)
	return err
}

// writeMessageSplit writes one handshake message, length prefix included,
// in one Write.
func (h *handshakeState) writeMessageSplit(payload []byte) (cs1, cs2 *fnoise.CipherState, err error) {
	out, cs1, cs2, err := h.hs.WriteMessage(append(h.buf[:0], 0, 0), payload)
	if err != nil {
		return nil, nil, err
	}
	if len(out)-lengthPrefixSize > MaxHandshakeMessageSize {
		return nil, nil, fmt.Errorf("%w: our message %d of %d bytes", ErrMessageTooLarge, h.hs.MessageIndex(), len(out)-lengthPrefixSize)
	}
	binary.BigEndian.PutUint16(out, uint16(len(out)-lengthPrefixSize))
	h.buf = out
	if _, err := h.conn.Write(out); err != nil {
		return nil, nil, fmt.Errorf("writing handshake message: %w", err)
	}
	return cs1, cs2, nil
}

// readMessage reads one length-prefixed handshake message, refusing one
// longer than MaxHandshakeMessageSize before reading its body.
func (h *handshakeState) readMessage() (payload []byte, cs1, cs2 *fnoise.CipherState, err error) {
	var prefix [lengthPrefixSize]byte
	if _, err := io.ReadFull(h.conn, prefix[:]); err != nil {
		return nil, nil, nil, fmt.Errorf("reading handshake message: %w", eofIsTruncation(err))
	}
	n := int(binary.BigEndian.Uint16(prefix[:]))
	if n > MaxHandshakeMessageSize {
		return nil, nil, nil, fmt.Errorf("%w: handshake message of %d bytes (max %d)", ErrMessageTooLarge, n, MaxHandshakeMessageSize)
	}
	if cap(h.buf) < n {
		h.buf = make([]byte, n)
	}
	msg := h.buf[:n]
	if _, err := io.ReadFull(h.conn, msg); err != nil {
		return nil, nil, nil, fmt.Errorf("reading handshake message: %w", eofIsTruncation(err))
	}
	index := h.hs.MessageIndex() + 1
	payload, cs1, cs2, err = h.hs.ReadMessage(nil, msg)
	if errors.Is(err, fnoise.ErrShortMessage) {
		return nil, nil, nil, fmt.Errorf("%w: handshake message %d of %d bytes", ErrShortMessage, index, n)
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: handshake message %d: %w", ErrDecrypt, index, err)
	}
	return payload, cs1, cs2, nil
}

// eofIsTruncation: a peer that hangs up mid-handshake truncated it.
func eofIsTruncation(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %w", ErrTruncated, io.ErrUnexpectedEOF)
	}
	return err
}

// selectMuxer implements inlined muxer negotiation: the first of the
// initiator's muxers that the responder also lists. "" means no agreement —
// no overlap, a side sent no list, or a list longer than MaxMuxers — and
// the muxer is then negotiated with multistream-select, as go-libp2p does;
// the inlined-muxer-negotiation spec would fail the handshake instead
// (docs/libp2p-decisions.md).
func selectMuxer(initiator, responder []string) string {
	if len(initiator) > MaxMuxers || len(responder) > MaxMuxers {
		return ""
	}
	for _, m := range initiator {
		if m == "" {
			continue
		}
		for _, r := range responder {
			if m == r {
				return m
			}
		}
	}
	return ""
}
