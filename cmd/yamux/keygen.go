package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/yamuxgo/yamux/peer"
)

// defaultKeyFile is where keygen writes and id reads when no file is named.
const defaultKeyFile = "yamux.key"

func runKeygen(_ context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "keygen", "yamux keygen [--out FILE] [--force]", `
Generates an Ed25519 identity key, writes it to FILE with mode 0600 in the
libp2p PrivateKey protobuf format (the format of go-libp2p's
crypto.MarshalPrivateKey), and prints its peer ID on stdout. An existing file is
never overwritten unless --force is given.`, `  yamux keygen
  yamux keygen --out node.key
  yamux serve --key node.key`)
	out := fs.String("out", defaultKeyFile, "write the key to `FILE`")
	force := fs.Bool("force", false, "replace FILE if it exists")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("takes no arguments (the file is named with --out)")
	}
	k, err := peer.GenerateEd25519Key(nil)
	if err != nil {
		return fmt.Errorf("generating a key: %w", err)
	}
	if err := writeKey(*out, k, *force); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, k.ID())
	fmt.Fprintf(e.stderr, "wrote %s (mode 0600)\n", *out)
	return nil
}

// writeKey saves k at path; with force it replaces an existing file
// atomically, so a crash never leaves the identity half-written.
func writeKey(path string, k *peer.PrivateKey, force bool) error {
	if !force {
		err := peer.SavePrivateKey(path, k)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists: not overwriting an identity key (use --force to replace it)", path)
		}
		if err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		return nil
	}
	tmp := filepath.Join(filepath.Dir(path), fmt.Sprintf(".%s.%d.tmp", filepath.Base(path), os.Getpid()))
	if err := peer.SavePrivateKey(tmp, k); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	return nil
}

// loadKey reads the identity key at path; an empty path means a fresh
// key for this run only.
func loadKey(path string) (*peer.PrivateKey, error) {
	if path == "" {
		k, err := peer.GenerateEd25519Key(nil)
		if err != nil {
			return nil, fmt.Errorf("generating a key: %w", err)
		}
		return k, nil
	}
	k, err := peer.LoadPrivateKey(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("key file %s does not exist (create one with 'yamux keygen --out %s')", path, path)
	case errors.Is(err, peer.ErrInsecureKeyFile):
		return nil, fmt.Errorf("%w; fix it with 'chmod 600 %s'", err, path)
	case err != nil:
		return nil, err
	}
	return k, nil
}

func runID(_ context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "id", "yamux id [--key FILE]", `
Prints the peer ID of an identity key written by 'yamux keygen' (or by go-libp2p's
crypto.MarshalPrivateKey), the ID that 'yamux serve --key FILE' has on the network.`, `  yamux id
  yamux id --key node.key`)
	path := fs.String("key", defaultKeyFile, "read the key from `FILE`")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("takes no arguments (the file is named with --key)")
	}
	k, err := loadKey(*path)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, k.ID())
	return nil
}
