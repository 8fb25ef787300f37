package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// KeyFile is the name of the node's audit key in its data directory.
const KeyFile = "audit.key"

// Key is the node's ed25519 key that signs the log's heads. It prints,
// logs and encodes as its public fingerprint only, so that the secret
// cannot reach a log line or a JSON answer by accident.
type Key struct {
	priv ed25519.PrivateKey
}

// GenerateKey makes a new key from r (crypto/rand.Reader if nil).
func GenerateKey(r io.Reader) (*Key, error) {
	if r == nil {
		r = rand.Reader
	}
	_, priv, err := ed25519.GenerateKey(r)
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	return &Key{priv: priv}, nil
}

// Public returns the public key.
func (k *Key) Public() ed25519.PublicKey { return k.priv.Public().(ed25519.PublicKey) }

// PublicHex is the public key in hex, as heads carry it.
func (k *Key) PublicHex() string { return hex.EncodeToString(k.Public()) }

// String names the key by its public half.
func (k *Key) String() string { return "audit key " + k.PublicHex() }

// GoString keeps %#v from printing the secret.
func (k *Key) GoString() string { return k.String() }

// Format prints the key as String under every verb.
func (k *Key) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// LogValue logs the public key only.
func (k *Key) LogValue() slog.Value { return slog.StringValue(k.String()) }

// MarshalJSON writes the public key only.
func (k *Key) MarshalJSON() ([]byte, error) { return []byte(`"` + k.PublicHex() + `"`), nil }

func (k *Key) sign(msg []byte) []byte { return ed25519.Sign(k.priv, msg) }

// LoadOrCreateKey reads the key at path, or makes one there if there is
// none (created is then true). The file is PEM-encoded PKCS #8, as
// openssl writes ed25519 keys, and must be readable by its owner only.
// A new key appears whole or not at all: it is written to a temporary
// file and linked into place, so that two processes starting at once
// end up with the same key.
func LoadOrCreateKey(path string) (k *Key, created bool, err error) {
	k, err = LoadKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	if k, err = GenerateKey(nil); err != nil {
		return nil, false, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.priv)
	if err != nil {
		return nil, false, fmt.Errorf("audit key %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".audit-key-*")
	if err != nil {
		return nil, false, fmt.Errorf("audit key %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file 0600 already; say so for readers.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, false, fmt.Errorf("audit key %s: %w", path, err)
	}
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return nil, false, fmt.Errorf("audit key %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, false, fmt.Errorf("audit key %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return nil, false, fmt.Errorf("audit key %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process made it first: use its key.
			k, err = LoadKey(path)
			return k, false, err
		}
		return nil, false, fmt.Errorf("audit key %s: %w", path, err)
	}
	return k, true, nil
}

// LoadKey reads the key at path. A key file that others may read is
// refused: whoever holds the key can sign a rewritten log.
func LoadKey(path string) (*Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("audit key %s: %w", path, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("audit key %s: mode %04o lets others read it; chmod 600 it", path, st.Mode().Perm())
	}
	data, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("audit key %s: %w", path, err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("audit key %s: not a PEM PRIVATE KEY", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit key %s: %w", path, err)
	}
	priv, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("audit key %s: a %T, not an ed25519 key", path, parsed)
	}
	return &Key{priv: priv}, nil
}
