package taxii

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tracehound/tracehound/intel"
)

// head is the part of a STIX object the package reads. Revoked and
// CreatedByRef are kept as written, so that one decoding serves both the
// lenient client and the server, which checks them (creatorOf).
type head struct {
	Type         string          `json:"type"`
	ID           string          `json:"id"`
	SpecVersion  *string         `json:"spec_version"`
	Created      *string         `json:"created"`
	Modified     *string         `json:"modified"`
	Markings     []string        `json:"object_marking_refs"`
	Revoked      json.RawMessage `json:"revoked"`
	CreatedByRef json.RawMessage `json:"created_by_ref"`
}

// ParseObject reads and validates one STIX 2.1 object. The checks are the
// minimum a collection needs to store and version it and to know who made
// it: a valid type and id, spec_version 2.1 (optional for
// cyber-observables), RFC 3339 created and modified where STIX requires
// them, and a created_by_ref, if any, that is an identity's id. The caller
// sets DateAdded (and Version, for objects without created or modified).
func ParseObject(raw []byte) (Object, error) {
	o, _, err := parseObject(raw, false)
	return o, err
}

// parseObject is ParseObject, also returning the canonical creator
// ("" if none). valid says raw is known to be valid JSON (a member of
// an envelope json.Unmarshal read).
func parseObject(raw []byte, valid bool) (Object, string, error) {
	o, h, err := parseVersioned(raw, valid)
	if err != nil {
		return o, "", err
	}
	creator, err := creatorOf(&o, h)
	return o, creator, err
}

// creatorOf reads what the server needs beyond the head of an object it
// stores: revoked, and the created_by_ref, checked and made canonical.
// The client takes them as they come.
func creatorOf(o *Object, h head) (string, error) {
	if h.Revoked != nil {
		if err := json.Unmarshal(h.Revoked, &o.Revoked); err != nil {
			return "", fmt.Errorf("property revoked: wrong JSON type %s", jsonType(h.Revoked))
		}
	}
	if h.CreatedByRef == nil || string(h.CreatedByRef) == "null" {
		return "", nil
	}
	var ref string
	if err := json.Unmarshal(h.CreatedByRef, &ref); err != nil {
		return "", fmt.Errorf("property created_by_ref: wrong JSON type %s", jsonType(h.CreatedByRef))
	}
	id, err := intel.CanonicalID(ref)
	if err != nil {
		return "", fmt.Errorf("created_by_ref: %w", err)
	}
	if !strings.HasPrefix(id, intel.TypeIdentity+"--") {
		return "", fmt.Errorf("created_by_ref %q: not an identity", ref)
	}
	return id, nil
}

// jsonType names the JSON type of a value as encoding/json's errors do.
func jsonType(v []byte) string {
	switch v[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

func parseVersioned(raw []byte, valid bool) (Object, head, error) {
	o, h, err := decodeObject(raw, valid)
	if err != nil {
		return o, h, err
	}
	return o, h, checkHead(&o, h)
}

// checkHead holds a decoded object to what a collection needs to store
// and version it.
func checkHead(o *Object, h head) error {
	if err := validTypeName(h.Type); err != nil {
		return err
	}
	if err := validID(h.ID, h.Type); err != nil {
		return err
	}
	sco := isSCO(h.Type, h.Created != nil)
	if h.SpecVersion == nil && !sco {
		return errors.New("spec_version is required")
	}
	if o.SpecVersion != "2.1" {
		return fmt.Errorf("spec_version %q: only 2.1 is accepted", o.SpecVersion)
	}
	switch {
	case sco:
	case h.Type == "marking-definition":
		if h.Created == nil {
			return errors.New("created is required")
		}
	default:
		if h.Created == nil || h.Modified == nil {
			return errors.New("created and modified are required")
		}
		if o.Modified.Before(o.Created) {
			return errors.New("modified is before created")
		}
	}
	return nil
}

// reparse is parseObject for an object a client decoded: its kept head
// is checked, not its JSON decoded again. An object without one (made
// by hand) is parsed from its Raw.
func reparse(o Object) (Object, string, error) {
	h := o.parsed
	if h == nil {
		return parseObject(o.Raw, false)
	}
	// What the server sets or reads anew, as a fresh parse leaves it.
	o.parsed, o.DateAdded, o.Owner, o.Claims, o.Revoked = nil, time.Time{}, "", nil, false
	if err := checkHead(&o, *h); err != nil {
		return o, "", err
	}
	creator, err := creatorOf(&o, *h)
	return o, creator, err
}

// decodeObject reads the common properties without validating them
// beyond their syntax: a client takes what a partner sends. valid says
// raw is known to be valid JSON.
func decodeObject(raw []byte, valid bool) (Object, head, error) {
	var h head
	var o Object
	if err := decodeHead(raw, valid, &h); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
			return o, h, fmt.Errorf("property %s: wrong JSON type %s", te.Field, te.Value)
		}
		return o, h, fmt.Errorf("not a JSON object: %w", err)
	}
	if compact(raw) {
		// Objects from tracehound nodes and most producers come compact:
		// kept as they are, not copied.
		o.Raw = raw
	} else {
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return o, h, fmt.Errorf("not a JSON object: %w", err)
		}
		o.Raw = buf.Bytes()
	}
	o.ID, o.Type, o.Markings = h.ID, h.Type, h.Markings
	o.SpecVersion = "2.1" // what an observable without spec_version implies
	if h.SpecVersion != nil {
		o.SpecVersion = *h.SpecVersion
	}
	var err error
	if h.Created != nil {
		if o.Created, err = parseObjectTime("created", *h.Created); err != nil {
			return o, h, err
		}
	}
	if h.Modified != nil {
		if o.Modified, err = parseObjectTime("modified", *h.Modified); err != nil {
			return o, h, err
		}
	}
	switch {
	case !o.Modified.IsZero():
		o.Version = o.Modified
	case !o.Created.IsZero():
		o.Version = o.Created
	}
	return o, h, nil
}

// parseObjectTime reads a version timestamp. Stores keep versions as
// int64 nanoseconds, which span the years 1678 to 2262.
func parseObjectTime(name, s string) (time.Time, error) {
	t, err := ParseTimestamp(s)
	if err != nil {
		return t, fmt.Errorf("%s %q is not an RFC 3339 timestamp", name, s)
	}
	if y := t.Year(); y < 1678 || y > 2261 {
		return time.Time{}, fmt.Errorf("%s %q is out of range (years 1678 to 2261)", name, s)
	}
	return t, nil
}

// validTypeName applies STIX 2.1's rules for type names: 3 to 250
// characters of a-z, 0-9 and single hyphens, starting with a letter.
func validTypeName(t string) error {
	if t == "" {
		return errors.New("type is required")
	}
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
		return fmt.Errorf("type %q: must start with a letter and have no leading, trailing or double hyphen", t)
	}
	if t == "bundle" {
		return errors.New("a bundle is not an object: send its objects")
	}
	return nil
}

// validID checks the form type--uuid, the type being the object's own.
func validID(id, typ string) error {
	if id == "" {
		return errors.New("id is required")
	}
	prefix, uuid, ok := strings.Cut(id, "--")
	if !ok || prefix != typ {
		return fmt.Errorf("id %q: must be %s--<uuid>", id, typ)
	}
	if len(uuid) != 36 {
		return fmt.Errorf("id %q: %q is not a UUID", id, uuid)
	}
	for i := 0; i < len(uuid); i++ {
		c := uuid[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return fmt.Errorf("id %q: %q is not a UUID", id, uuid)
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return fmt.Errorf("id %q: %q is not a UUID", id, uuid)
			}
		}
	}
	return nil
}

// isSCO reports whether a type is a cyber-observable: one of STIX 2.1's,
// or a custom type without created (observables have none).
func isSCO(typ string, hasCreated bool) bool {
	switch typ {
	case "artifact", "autonomous-system", "directory", "domain-name", "email-addr",
		"email-message", "file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex",
		"network-traffic", "process", "software", "url", "user-account",
		"windows-registry-key", "x509-certificate":
		return true
	case "attack-pattern", "campaign", "course-of-action", "grouping", "identity",
		"incident", "indicator", "infrastructure", "intrusion-set", "location",
		"malware", "malware-analysis", "note", "observed-data", "opinion", "report",
		"threat-actor", "tool", "vulnerability", "relationship", "sighting",
		"marking-definition", "language-content", "extension-definition":
		return false
	}
	return !hasCreated
}

// versionOf is the version a status reports for an object.
func versionOf(o Object) string {
	if o.Version.IsZero() {
		return ""
	}
	return FormatTimestamp(o.Version)
}

// stampUnversioned gives an object without created or modified its
// date_added as version, as TAXII 2.1 prescribes.
func stampUnversioned(o *Object, added time.Time) {
	o.DateAdded = added
	if !o.Versioned() {
		o.Version = added
	}
}

// compact reports whether the valid JSON b holds no white space outside
// its strings, as json.Compact would leave it.
func compact(b []byte) bool {
	in := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return false
		}
	}
	return true
}

// headFields are head's properties by name.
var headFields = []string{"type", "id", "spec_version", "created", "modified", "object_marking_refs", "revoked", "created_by_ref"}

// decodeHead decodes the head of an object as json.Unmarshal would, but
// decodes only the eight properties it reads: an indicator's pattern,
// name, description and every other property are stepped over, not
// decoded, which is most of the cost, and the usual values (plain
// strings, a list of them) are taken without encoding/json. Where
// anything is wrong, the error is json.Unmarshal's.
func decodeHead(raw []byte, valid bool, h *head) error {
	if !valid && !json.Valid(raw) {
		return json.Unmarshal(raw, h)
	}
	err := eachMember(raw, func(name, value []byte) error {
		for i, f := range headFields {
			// encoding/json matches names case-insensitively too; the
			// last member of a name wins.
			if string(name) == f || bytes.EqualFold(name, []byte(f)) {
				return h.set(i, value)
			}
		}
		return nil
	})
	if err != nil {
		*h = head{}
		return json.Unmarshal(raw, h)
	}
	return nil
}

// set decodes value, valid JSON, into head field i (of headFields).
func (h *head) set(i int, value []byte) error {
	switch i {
	case 0, 1:
		dst := &h.Type
		if i == 1 {
			dst = &h.ID
		}
		if s, ok := plainString(value); ok {
			*dst = s
			return nil
		}
		return json.Unmarshal(value, dst)
	case 2, 3, 4:
		dst := []**string{&h.SpecVersion, &h.Created, &h.Modified}[i-2]
		if s, ok := plainString(value); ok {
			*dst = &s
			return nil
		}
		return json.Unmarshal(value, dst)
	case 5:
		if ss, ok := plainStrings(value); ok {
			h.Markings = ss
			return nil
		}
		return json.Unmarshal(value, &h.Markings)
	case 6:
		h.Revoked = append(json.RawMessage(nil), value...)
	case 7:
		h.CreatedByRef = append(json.RawMessage(nil), value...)
	}
	return nil
}

// plainString returns the JSON string v if it needs no decoding: no
// escape, and valid UTF-8 (encoding/json replaces invalid bytes).
func plainString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	s := v[1 : len(v)-1]
	if bytes.IndexByte(s, '\\') >= 0 || !utf8.Valid(s) {
		return "", false
	}
	return string(s), true
}

// plainStrings returns the JSON array v of plain strings.
func plainStrings(v []byte) ([]string, bool) {
	i := skipSpace(v, 0)
	if i >= len(v) || v[i] != '[' {
		return nil, false
	}
	out := []string{}
	i = skipSpace(v, i+1)
	if i < len(v) && v[i] == ']' {
		return out, true
	}
	for i < len(v) {
		end := stringEnd(v, i)
		if v[i] != '"' || end > len(v) {
			return nil, false
		}
		s, ok := plainString(v[i:end])
		if !ok {
			return nil, false
		}
		out = append(out, s)
		i = skipSpace(v, end)
		switch {
		case i < len(v) && v[i] == ',':
			i = skipSpace(v, i+1)
		case i < len(v) && v[i] == ']':
			return out, true
		default:
			return nil, false
		}
	}
	return nil, false
}

var errNotObject = errors.New("not a JSON object")

// eachMember calls fn with the name (unquoted; an escaped name is
// decoded) and value bytes of each top-level member of the valid JSON
// value b, stepping over nested values by their brackets and strings.
func eachMember(b []byte, fn func(name, value []byte) error) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errNotObject
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return errNotObject
		}
		end := stringEnd(b, i)
		name := b[i+1 : end-1]
		if bytes.IndexByte(name, '\\') >= 0 {
			var s string
			if err := json.Unmarshal(b[i:end], &s); err != nil {
				return err
			}
			name = []byte(s)
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return errNotObject
		}
		start := skipSpace(b, i+1)
		end = valueEnd(b, start)
		if end < 0 {
			return errNotObject
		}
		if err := fn(name, b[start:end]); err != nil {
			return err
		}
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		if i < len(b) && b[i] == '}' {
			return nil
		}
		return errNotObject
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the string that starts at b[i],
// which must be '"'; len(b)+1 if it does not end.
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b) + 1
}

// valueEnd returns the index after the value that starts at b[i], or -1.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		if e := stringEnd(b, i); e <= len(b) {
			return e
		}
		return -1
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				if i = stringEnd(b, i) - 1; i >= len(b) {
					return -1
				}
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	// A literal or number runs to the next delimiter.
	for ; i < len(b); i++ {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return i
}
