package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Roles a key can hold. Each endpoint names the role it needs, so a
// partner's key can be limited to exactly what it must do.
const (
	RoleScreen  = "screen"  // screen addresses
	RoleAdmin   = "admin"   // import lists and tags, manage keys
	RoleMetrics = "metrics" // scrape /metrics
)

// ValidRole reports whether r is a known role. Roles of other domains
// (such as a partner's intel roles) are prefixed with their domain and a
// colon, e.g. "intel:read".
func ValidRole(r string) bool {
	switch r {
	case RoleScreen, RoleAdmin, RoleMetrics, RoleTrace:
		return true
	}
	return strings.Contains(r, ":") && !strings.ContainsAny(r, " \t\n")
}

// Key is a client's API key as stored: the secret itself is never kept,
// only its SHA-256.
type Key struct {
	// ID is the first 12 hex digits of the secret's hash: safe to log.
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Roles   []string  `json:"roles"`
	Hash    string    `json:"hash"`
	Created time.Time `json:"created"`
	Revoked bool      `json:"revoked,omitempty"`
}

// Has reports whether the key holds role (admin holds every role).
func (k *Key) Has(role string) bool {
	return slices.Contains(k.Roles, role) || slices.Contains(k.Roles, RoleAdmin)
}

// KeyStore persists keys.
type KeyStore interface {
	PutKey(ctx context.Context, k Key) error
	Keys(ctx context.Context) ([]Key, error)
}

// keyPrefix marks tracehound keys so that secret scanners can find leaked ones.
const keyPrefix = "th_"

// NewKey makes a key with a fresh random secret, which it returns once.
func NewKey(name string, roles []string, now time.Time) (Key, string, error) {
	if strings.TrimSpace(name) == "" {
		return Key{}, "", fmt.Errorf("new key: a name is required")
	}
	if len(roles) == 0 {
		return Key{}, "", fmt.Errorf("new key %q: at least one role is required", name)
	}
	for _, r := range roles {
		if !ValidRole(r) {
			return Key{}, "", fmt.Errorf("new key %q: unknown role %q (want %s, %s, %s or %s)", name, r, RoleScreen, RoleTrace, RoleAdmin, RoleMetrics)
		}
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Key{}, "", fmt.Errorf("new key: %w", err)
	}
	secret := keyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	h := hashSecret(secret)
	return Key{ID: h[:12], Name: name, Roles: roles, Hash: h, Created: now.UTC()}, secret, nil
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Keyring authenticates secrets against the keys in memory. Reload swaps
// the set atomically, so a revoked key stops working at once.
type Keyring struct {
	byHash atomic.Pointer[map[string]*Key]
}

// NewKeyring returns a keyring holding keys.
func NewKeyring(keys []Key) *Keyring {
	r := &Keyring{}
	r.Reload(keys)
	return r
}

// Reload replaces the keys.
func (r *Keyring) Reload(keys []Key) {
	m := make(map[string]*Key, len(keys))
	for i := range keys {
		if !keys[i].Revoked {
			k := keys[i]
			m[k.Hash] = &k
		}
	}
	r.byHash.Store(&m)
}

// Authenticate returns the key whose secret this is.
func (r *Keyring) Authenticate(secret string) (*Key, bool) {
	if !strings.HasPrefix(secret, keyPrefix) {
		return nil, false
	}
	h := hashSecret(secret)
	k, ok := (*r.byHash.Load())[h]
	if !ok {
		return nil, false
	}
	// The map look-up already matched; compare again in constant time
	// so that timing says nothing about near misses.
	if subtle.ConstantTimeCompare([]byte(k.Hash), []byte(h)) != 1 {
		return nil, false
	}
	return k, true
}
