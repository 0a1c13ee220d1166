package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var peerIDLine = regexp.MustCompile(`^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}\n$`)

// TestKeygenAndID: keygen writes a 0600 key and prints its peer ID, id
// prints the same; an existing key survives unless --force; a key file
// others can read is refused with the fix named.
func TestKeygenAndID(t *testing.T) {
	key := filepath.Join(t.TempDir(), "node.key")
	r := runYamux(t, 30*time.Second, "keygen", "--out", key)
	r.wantCode(t, exitOK, "keygen")
	if !peerIDLine.MatchString(r.stdout) {
		t.Fatalf("keygen stdout %q, want one Ed25519 peer ID line", r.stdout)
	}
	first := r.stdout
	fi, err := os.Stat(key)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", fi.Mode().Perm())
	}
	if r := runYamux(t, 30*time.Second, "id", "--key", key); r.code != exitOK || r.stdout != first {
		t.Errorf("id: exit %d, stdout %q; want 0 and keygen's %q", r.code, r.stdout, first)
	}

	r = runYamux(t, 30*time.Second, "keygen", "--out", key)
	r.wantCode(t, exitFailure, "keygen over an existing key")
	wantOneErrorLine(t, r.stderr, "yamux keygen: ")
	if !strings.Contains(r.stderr, "already exists") || !strings.Contains(r.stderr, "--force") {
		t.Errorf("stderr %q: want it to say the file exists and name --force", r.stderr)
	}
	if r := runYamux(t, 30*time.Second, "id", "--key", key); r.stdout != first {
		t.Errorf("after a refused keygen, id prints %q, want the old %q", r.stdout, first)
	}

	r = runYamux(t, 30*time.Second, "keygen", "--out", key, "--force")
	r.wantCode(t, exitOK, "keygen --force")
	if !peerIDLine.MatchString(r.stdout) || r.stdout == first {
		t.Errorf("keygen --force stdout %q, want a new peer ID (old %q)", r.stdout, first)
	}
	if r2 := runYamux(t, 30*time.Second, "id", "--key", key); r2.stdout != r.stdout {
		t.Errorf("id after --force prints %q, want %q", r2.stdout, r.stdout)
	}
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("replaced key file: %v, mode %v; want 0600", err, fi.Mode())
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(key), ".*tmp")); len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}

	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	r = runYamux(t, 30*time.Second, "id", "--key", key)
	r.wantCode(t, exitFailure, "id on a 0644 key")
	wantOneErrorLine(t, r.stderr, "yamux id: ")
	if !strings.Contains(r.stderr, "chmod 600 "+key) {
		t.Errorf("stderr %q: want the chmod fix named", r.stderr)
	}

	missing := filepath.Join(t.TempDir(), "nope.key")
	r = runYamux(t, 30*time.Second, "id", "--key", missing)
	r.wantCode(t, exitFailure, "id on a missing key")
	wantOneErrorLine(t, r.stderr, "yamux id: ")
	if !strings.Contains(r.stderr, "does not exist") || !strings.Contains(r.stderr, "yamux keygen") {
		t.Errorf("stderr %q: want 'does not exist' and the keygen hint", r.stderr)
	}
}
