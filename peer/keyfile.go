package peer

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
)

// keyFileMode is the mode SavePrivateKey creates; LoadPrivateKey accepts
// any mode without group or other bits.
const keyFileMode fs.FileMode = 0o600

// SavePrivateKey writes k to a new file at path with mode 0600. The content
// is the libp2p PrivateKey protobuf (see Marshal), unencoded. It never
// replaces an existing file (an identity is too easy to lose): the error
// then matches fs.ErrExist.
func SavePrivateKey(path string, k *PrivateKey) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, keyFileMode)
	if err != nil {
		return fmt.Errorf("peer: saving private key: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("peer: saving private key: %w", cerr)
		}
		if err != nil {
			os.Remove(path) // a half-written key file is worse than none
		}
	}()
	if _, err := f.Write(k.Marshal()); err != nil {
		return fmt.Errorf("peer: saving private key: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("peer: saving private key: %w", err)
	}
	return nil
}

// LoadPrivateKey reads a key file written by SavePrivateKey (or by
// go-libp2p's crypto.MarshalPrivateKey, or kubo's "ipfs key export"). On
// Unix systems it refuses, with an *InsecureKeyFileError, a file whose mode
// grants the group or others any access; it also refuses anything but a
// regular file and files larger than a few KiB.
func LoadPrivateKey(path string) (*PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("peer: loading private key: %w", err)
	}
	defer f.Close()
	// Stat the opened file, not the path, so the mode checked is the mode of
	// what is read.
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("peer: loading private key: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrMalformedKey, path)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, &InsecureKeyFileError{Path: path, Mode: fi.Mode()}
	}
	b, err := io.ReadAll(io.LimitReader(f, maxPrivateKeySize+1))
	if err != nil {
		return nil, fmt.Errorf("peer: loading private key: %w", err)
	}
	k, err := UnmarshalPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("peer: loading private key from %s: %w", path, err)
	}
	return k, nil
}

// LoadOrGeneratePrivateKey loads the key at path, or, when there is no file,
// generates an Ed25519 key and saves it there.
func LoadOrGeneratePrivateKey(path string) (*PrivateKey, error) {
	k, err := LoadPrivateKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if k, err = GenerateEd25519Key(nil); err != nil {
		return nil, err
	}
	if err := SavePrivateKey(path, k); err != nil {
		if errors.Is(err, fs.ErrExist) { // created concurrently: use that one
			return LoadPrivateKey(path)
		}
		return nil, err
	}
	return k, nil
}
