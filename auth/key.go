// Package auth authenticates the clients and partners of a node: API keys
// (kept only as hashes), the closed set of roles a key may hold, each
// key's TLP clearance, and the HTTP guard that puts the authenticated key
// in a request's context. The HTTP API and the TAXII server both use it.
package auth

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

	"github.com/tracehound/tracehound/intel"
)

// Key is a client's API key as stored: the secret itself is never kept,
// only its SHA-256.
type Key struct {
	// ID is the first 12 hex digits of the secret's hash: safe to log.
	ID    string `json:"id"`
	Name  string `json:"name"`
	Roles []Role `json:"roles"`
	Hash  string `json:"hash"`
	// Clearance is the most restricted TLP level of intelligence whose
	// details the key may read in screening answers; zero means the
	// default for its roles (see DefaultClearance).
	Clearance intel.TLP `json:"clearance,omitzero"`
	Created   time.Time `json:"created"`
	Revoked   bool      `json:"revoked,omitempty"`
}

// Has reports whether the key holds role (admin holds every role).
func (k *Key) Has(role Role) bool {
	return slices.Contains(k.Roles, role) || slices.Contains(k.Roles, RoleAdmin)
}

// MaxTLP is the key's clearance: its own, or the default for its roles.
func (k *Key) MaxTLP() intel.TLP {
	if k.Clearance.Valid() {
		return k.Clearance
	}
	return DefaultClearance(k.Roles)
}

// DefaultClearance is the clearance of a key created without one: GREEN
// for screening clients and partners, whose answers may reach a whole
// community; AMBER for the node's own investigators and analysts (trace,
// publish) and its administrators. RED is given only on purpose.
func DefaultClearance(roles []Role) intel.TLP {
	for _, r := range roles {
		switch r {
		case RoleAdmin, RoleTrace, RoleTAXIIPublish:
			return intel.TLPAmber
		}
	}
	return intel.TLPGreen
}

// KeyStore persists keys.
type KeyStore interface {
	PutKey(ctx context.Context, k Key) error
	Keys(ctx context.Context) ([]Key, error)
}

// keyPrefix marks tracehound keys so that secret scanners can find leaked ones.
const keyPrefix = "th_"

// NewKey makes a key with a fresh random secret, which it returns once.
// clearance zero gives the default for the roles.
func NewKey(name string, roles []Role, clearance intel.TLP, now time.Time) (Key, string, error) {
	if strings.TrimSpace(name) == "" {
		return Key{}, "", fmt.Errorf("new key: a name is required")
	}
	if len(roles) == 0 {
		return Key{}, "", fmt.Errorf("new key %q: at least one role is required", name)
	}
	for _, r := range roles {
		if !r.Valid() {
			return Key{}, "", fmt.Errorf("new key %q: unknown role %q (want one of %s)", name, r, RoleNames())
		}
	}
	if clearance != 0 && !clearance.Valid() {
		return Key{}, "", fmt.Errorf("new key %q: clearance %d is not a TLP level", name, clearance)
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Key{}, "", fmt.Errorf("new key: %w", err)
	}
	secret := keyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	h := hashSecret(secret)
	return Key{ID: h[:12], Name: name, Roles: slices.Clone(roles), Hash: h, Clearance: clearance, Created: now.UTC()}, secret, nil
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

// Len is the number of active keys.
func (r *Keyring) Len() int { return len(*r.byHash.Load()) }

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

type keyCtx struct{}

// WithKey returns ctx carrying k as the authenticated key.
func WithKey(ctx context.Context, k *Key) context.Context {
	return context.WithValue(ctx, keyCtx{}, k)
}

// KeyFrom returns the authenticated key of a request, or nil.
func KeyFrom(ctx context.Context) *Key {
	k, _ := ctx.Value(keyCtx{}).(*Key)
	return k
}

// Actor names who acts in ctx for the audit trail: the key's name, or
// "unknown" when no key authenticated (the command line names itself).
func Actor(ctx context.Context) string {
	if k := KeyFrom(ctx); k != nil {
		return k.Name
	}
	return "unknown"
}
