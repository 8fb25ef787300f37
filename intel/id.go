package intel

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strings"
)

// scoNamespace is the UUIDv5 namespace the STIX 2.1 spec fixes for the
// deterministic ids of cyber-observable objects
// (00abedb4-aa42-466c-9c01-fed23315a9b7), as raw bytes.
const scoNamespace = "\x00\xab\xed\xb4\xaa\x42\x46\x6c\x9c\x01\xfe\xd2\x33\x15\xa9\xb7"

// NewID returns "typ--" followed by a random (version 4) UUID, the form the
// spec recommends for domain, relationship and meta objects and bundles.
func NewID(typ string) string {
	var u [16]byte
	rand.Read(u[:]) // never fails (crypto/rand, Go 1.24+)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return typ + "--" + formatUUID(u)
}

// WalletID returns the deterministic id of the cryptocurrency-wallet
// observable for value: a UUIDv5 in the STIX observable namespace over the
// RFC 8785 canonical JSON of its id-contributing properties, {"value":...}.
// Two producers that see the same address thus agree on the id.
func WalletID(value string) string {
	return TypeCryptocurrencyWallet + "--" + formatUUID(uuidV5(scoNamespace, `{"value":`+jcsString(value)+`}`))
}

// uuidV5 computes a name-based UUID with SHA-1 (RFC 4122, section 4.3).
func uuidV5(ns, name string) [16]byte {
	h := sha1.New()
	h.Write([]byte(ns))
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return u
}

func formatUUID(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// parseUUID checks the 8-4-4-4-12 hex form of an RFC 4122 UUID. Other
// variants (NCS, Microsoft, reserved) and versions fail: the spec's
// identifier type requires RFC 4122.
func parseUUID(s string) error {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return fmt.Errorf("UUID %q: want 8-4-4-4-12 hex digits", s)
	}
	var u [16]byte
	digits := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	if _, err := hex.Decode(u[:], []byte(digits)); err != nil {
		return fmt.Errorf("UUID %q: want 8-4-4-4-12 hex digits", s)
	}
	if u[8]&0xc0 != 0x80 {
		return fmt.Errorf("UUID %q: not an RFC 4122 variant", s)
	}
	if v := u[6] >> 4; v < 1 || v > 5 {
		return fmt.Errorf("UUID %q: version %d is not one RFC 4122 defines", s, v)
	}
	return nil
}

// jcsString serialises s as RFC 8785 (JSON canonicalisation) does: only the
// quote, the backslash and control characters are escaped, unlike
// encoding/json, which also escapes <, >, & and U+2028/U+2029. Invalid
// UTF-8 becomes U+FFFD, as encoding/json would decode it.
func jcsString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// identityNamespace is tracehound's own UUIDv5 namespace for identities
// (a UUIDv5 of "tracehound identity" in the URL namespace), so that an
// organisation publishes under one id on every node and every run.
var identityNamespace = string(func() []byte {
	u := uuidV5("\x6b\xa7\xb8\x11\x9d\xad\x11\xd1\x80\xb4\x00\xc0\x4f\xd4\x30\xc8", "tracehound identity")
	return u[:]
}())

// IdentityFor returns the identity of an organisation (class
// "organization") with an id derived from its name: the same name gives
// the same id, so that reports it publishes over time share a creator.
func IdentityFor(name string) *Identity {
	id := NewIdentity(name, "organization")
	id.ID = TypeIdentity + "--" + formatUUID(uuidV5(identityNamespace, name))
	return id
}

// CanonicalID checks that id is a STIX identifier, object-type--UUID,
// written exactly: a type name of lower-case letters, digits and single
// hyphens (the spec defines type names lower case), two hyphens and a UUID
// of 8-4-4-4-12 hex digits, with nothing around it. It returns the id with
// the UUID in lower case: RFC 4122 reads hex digits in either case, so
// ids that differ only there name one object and must compare equal.
func CanonicalID(id string) (string, error) {
	typ, uuid, ok := strings.Cut(id, "--")
	if !ok {
		return "", fmt.Errorf("identifier %q: want object-type--UUID", id)
	}
	if err := checkTypeName(typ); err != nil {
		return "", fmt.Errorf("identifier %q: %w", id, err)
	}
	if len(uuid) != 36 {
		return "", fmt.Errorf("identifier %q: %q is not a UUID", id, uuid)
	}
	b := []byte(uuid)
	for i, c := range b {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return "", fmt.Errorf("identifier %q: %q is not a UUID", id, uuid)
			}
		case c >= '0' && c <= '9' || c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			b[i] = c + 'a' - 'A'
		default:
			return "", fmt.Errorf("identifier %q: %q is not a UUID", id, uuid)
		}
	}
	return typ + "--" + string(b), nil
}

// SameID reports whether a and b are both STIX identifiers and name the
// same object. A malformed id is the same as nothing, not even itself.
func SameID(a, b string) bool {
	ca, err := CanonicalID(a)
	if err != nil {
		return false
	}
	cb, err := CanonicalID(b)
	return err == nil && ca == cb
}

// checkTypeName applies STIX 2.1's rules for type names: 3 to 250
// characters of a-z, 0-9 and single hyphens, starting with a letter.
func checkTypeName(t string) error {
	if len(t) < 3 || len(t) > 250 {
		return fmt.Errorf("type %q: must be 3 to 250 characters", t)
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("type %q: only a-z, 0-9 and '-' are allowed", t)
		}
	}
	if t[0] < 'a' || t[0] > 'z' || t[len(t)-1] == '-' || strings.Contains(t, "--") {
		return fmt.Errorf("type %q: must start with a letter and have no trailing or double hyphen", t)
	}
	return nil
}
