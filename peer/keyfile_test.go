package peer_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/yamuxgo/yamux/peer"
)

func TestKeyFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "identity.key")
	k := mustKey(t, 3)
	if err := peer.SavePrivateKey(path, k); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if string(b) != string(k.Marshal()) {
		t.Errorf("file holds %x, want the PrivateKey protobuf %x", b, k.Marshal())
	}
	got, err := peer.LoadPrivateKey(path)
	if err != nil || !got.Equal(k) {
		t.Fatalf("LoadPrivateKey = %v, %v", got, err)
	}
	if err := peer.SavePrivateKey(path, mustKey(t, 4)); !errors.Is(err, fs.ErrExist) {
		t.Errorf("SavePrivateKey over an existing file = %v, want fs.ErrExist", err)
	}
	if got, _ := peer.LoadPrivateKey(path); !got.Equal(k) {
		t.Error("a refused save changed the file")
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := peer.LoadPrivateKey(path); err != nil {
		t.Errorf("mode 0400: %v", err)
	}
}

func TestKeyFileInsecureMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits")
	}
	path := filepath.Join(t.TempDir(), "identity.key")
	if err := peer.SavePrivateKey(path, mustKey(t, 3)); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []fs.FileMode{0o644, 0o640, 0o604, 0o610, 0o602} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		k, err := peer.LoadPrivateKey(path)
		var ie *peer.InsecureKeyFileError
		if !errors.As(err, &ie) || !errors.Is(err, peer.ErrInsecureKeyFile) {
			t.Fatalf("mode %04o: LoadPrivateKey = %v, %v; want *InsecureKeyFileError", mode, k, err)
		}
		if ie.Path != path || ie.Mode.Perm() != mode {
			t.Errorf("error fields %q %04o, want %q %04o", ie.Path, ie.Mode.Perm(), path, mode)
		}
	}
}

func TestKeyFileRejects(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := peer.LoadPrivateKey(write("garbage", []byte("garbage"))); !errors.Is(err, peer.ErrMalformedKey) {
		t.Errorf("garbage: %v", err)
	}
	if _, err := peer.LoadPrivateKey(write("big", make([]byte, 1<<20))); !errors.Is(err, peer.ErrKeyTooLarge) {
		t.Errorf("1 MiB file: %v", err)
	}
	sub := filepath.Join(dir, "dir")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := peer.LoadPrivateKey(sub); !errors.Is(err, peer.ErrMalformedKey) {
		t.Errorf("directory: %v", err)
	}
	if _, err := peer.LoadPrivateKey(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	if err := peer.SavePrivateKey(filepath.Join(dir, "no", "such", "dir"), mustKey(t, 1)); err == nil {
		t.Error("SavePrivateKey into a missing directory succeeded")
	}
}

func TestLoadOrGeneratePrivateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "identity.key")
	k1, err := peer.LoadOrGeneratePrivateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := peer.LoadOrGeneratePrivateKey(path)
	if err != nil || !k2.Equal(k1) {
		t.Fatalf("second call = %v, %v; want the saved key", k2, err)
	}
	if runtime.GOOS != "windows" {
		os.Chmod(path, 0o666)
		if _, err := peer.LoadOrGeneratePrivateKey(path); !errors.Is(err, peer.ErrInsecureKeyFile) {
			t.Errorf("insecure file: %v, want ErrInsecureKeyFile", err)
		}
	}
}
