package peer_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// vector is one key computed by go-libp2p (testdata/go-libp2p-vectors.txt).
type vector struct {
	name                string
	priv, pub, msg, sig []byte
	idHex               []byte
	id, cid             string
}

func loadVectors(tb testing.TB) map[string]vector {
	tb.Helper()
	f, err := os.Open("testdata/go-libp2p-vectors.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	out := map[string]vector{}
	var cur *vector
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			tb.Fatalf("vector %s: %v", cur.name, err)
		}
		return b
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#") || line == "":
		case strings.HasPrefix(line, "== "):
			if cur != nil {
				out[cur.name] = *cur
			}
			cur = &vector{name: strings.TrimPrefix(line, "== ")}
		default:
			k, v, _ := strings.Cut(line, "=")
			switch k {
			case "priv":
				cur.priv = unhex(v)
			case "pub":
				cur.pub = unhex(v)
			case "msg":
				cur.msg = unhex(v)
			case "sig":
				cur.sig = unhex(v)
			case "idhex":
				cur.idHex = unhex(v)
			case "id":
				cur.id = v
			case "cid":
				cur.cid = v
			default:
				tb.Fatalf("unknown vector line %q", line)
			}
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	if cur != nil {
		out[cur.name] = *cur
	}
	for _, n := range []string{"ed25519", "rsa", "secp256k1", "ecdsa"} {
		if _, ok := out[n]; !ok {
			tb.Fatalf("vector %s missing", n)
		}
	}
	return out
}

// flip returns a copy of b with one bit of byte i flipped.
func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x01
	return c
}
