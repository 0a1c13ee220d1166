package interop

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"strings"
	"time"
)

// Test data: one 4 MiB block of pseudo-random bytes; stream i sends the block
// rotated by a stream-specific offset, so streams carry different bytes and a
// mix-up between streams changes the checksum.

const patternSize = 4 << 20

var pattern = func() []byte {
	b := make([]byte, patternSize)
	r := rand.NewChaCha8([32]byte{'y', 'a', 'm', 'u', 'x'})
	_, _ = r.Read(b)
	return b
}()

// patternWriter writes n bytes of pattern starting at offset off, in Write
// calls of chunk bytes, and returns the SHA-256 of what it wrote.
func writePattern(w io.Writer, off, n, chunk int) (string, error) {
	h := sha256.New()
	buf := make([]byte, min(chunk, n))
	pos := off % patternSize
	for written := 0; written < n; {
		k := min(len(buf), n-written)
		for filled := 0; filled < k; {
			c := copy(buf[filled:k], pattern[pos:])
			filled += c
			pos = (pos + c) % patternSize
		}
		h.Write(buf[:k])
		if _, err := w.Write(buf[:k]); err != nil {
			return "", fmt.Errorf("write at %d/%d: %w", written, n, err)
		}
		written += k
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// patternSum is the SHA-256 writePattern would report, without writing.
func patternSum(off, n int) string {
	s, _ := writePattern(io.Discard, off, n, 1<<20)
	return s
}

// readAll reads until EOF or error and returns count, hex SHA-256 and the
// terminating error (nil at EOF).
func readAll(r io.Reader) (int64, string, error) {
	h := sha256.New()
	n, err := io.CopyBuffer(h, onlyReader{r}, make([]byte, 256<<10))
	return n, hexSum(h), err
}

type onlyReader struct{ io.Reader }

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// deadlineCtx returns the context's deadline, or now+d if it has none.
func deadlineCtx(ctx context.Context, d time.Duration) time.Time {
	if dl, ok := ctx.Deadline(); ok {
		return dl
	}
	return time.Now().Add(d)
}

// readHeader reads one "\n"-terminated line of at most 256 bytes, one byte at
// a time (so nothing after the line is consumed).
func readHeader(r io.Reader) (string, error) {
	var sb strings.Builder
	b := make([]byte, 1)
	for sb.Len() <= 256 {
		n, err := r.Read(b)
		if n == 1 {
			if b[0] == '\n' {
				return sb.String(), nil
			}
			sb.WriteByte(b[0])
			continue
		}
		if err != nil {
			return sb.String(), err
		}
	}
	return sb.String(), errors.New("header line too long")
}

// readLine reads one line through a bufio.Reader (used for peer reports).
func readLine(r io.Reader) (string, *bufio.Reader, error) {
	br := bufio.NewReader(r)
	s, err := br.ReadString('\n')
	return strings.TrimSuffix(s, "\n"), br, err
}
