// Package intel is the STIX 2.1 object model tracehound uses to exchange
// cryptocurrency-wallet threat intelligence with platforms such as OpenCTI
// and MISP.
//
// It models the objects a wallet investigation needs (identity,
// threat-actor, intrusion-set, incident, report, indicator, relationship,
// sighting, note, marking-definition, extension-definition and the
// cryptocurrency-wallet observable), parses and validates bundles from
// untrusted feeds, parses STIX patterns, and maps the several encodings of
// the Traffic Light Protocol to one ordered type.
//
// Every object keeps the properties it does not model in a Custom map, so
// decoding and re-encoding a feed loses nothing; objects of other types are
// held whole as *Generic. Modelled properties whose value is "" or false
// are written as absent, which STIX reads the same.
package intel

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
)

// SpecVersion is the only STIX version this package produces or accepts.
const SpecVersion = "2.1"

// The object types this package models.
const (
	TypeBundle               = "bundle"
	TypeIdentity             = "identity"
	TypeThreatActor          = "threat-actor"
	TypeIntrusionSet         = "intrusion-set"
	TypeIncident             = "incident"
	TypeReport               = "report"
	TypeIndicator            = "indicator"
	TypeRelationship         = "relationship"
	TypeSighting             = "sighting"
	TypeNote                 = "note"
	TypeMarkingDefinition    = "marking-definition"
	TypeExtensionDefinition  = "extension-definition"
	TypeCryptocurrencyWallet = "cryptocurrency-wallet"
)

// WalletExtensionID is the extension-definition that introduces the
// cryptocurrency-wallet observable (a new-sco extension).
const WalletExtensionID = "extension-definition--be78509e-6958-51b1-8b26-d17ee0eba2d7"

// Object is any STIX object: the types of this package and *Generic.
type Object interface {
	ObjectType() string
	ObjectID() string
	// MarkingRefs returns the marking-definition ids that apply to the
	// object or to any part of it: object markings, then granular ones.
	MarkingRefs() []string
}

// Timestamp is a STIX timestamp: RFC 3339 in UTC with a "Z" suffix. It is
// written with millisecond precision, or with more digits when the value
// has sub-millisecond detail, so that a parsed timestamp survives a round
// trip unchanged (the modified timestamp identifies an object's version).
type Timestamp struct {
	time.Time
	// coarse records that the parsed text had fewer than three fractional
	// digits, which the spec forbids for created and modified.
	coarse bool
}

// NewTimestamp returns t as a Timestamp in UTC.
func NewTimestamp(t time.Time) Timestamp { return Timestamp{Time: t.UTC()} }

// ParseTimestamp parses a STIX timestamp such as "2025-02-21T14:13:35.000Z".
// Offsets other than Z, lower-case separators and more than nanosecond
// precision are rejected.
func ParseTimestamp(s string) (Timestamp, error) {
	bad := func(why string) (Timestamp, error) {
		return Timestamp{}, fmt.Errorf("timestamp %q: %s", s, why)
	}
	const layout = "dddd-dd-ddTdd:dd:dd"
	if len(s) < len(layout)+1 || s[len(s)-1] != 'Z' {
		return bad("want YYYY-MM-DDTHH:MM:SS[.s+]Z")
	}
	for i := range len(layout) {
		if layout[i] == 'd' && !isDigit(s[i]) || layout[i] != 'd' && s[i] != layout[i] {
			return bad("want YYYY-MM-DDTHH:MM:SS[.s+]Z")
		}
	}
	frac := s[len(layout) : len(s)-1]
	if frac != "" {
		if frac[0] != '.' || len(frac) == 1 || strings.IndexFunc(frac[1:], func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
			return bad("malformed fractional seconds")
		}
		if len(frac)-1 > 9 {
			return bad("more precise than nanoseconds")
		}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return bad("not a calendar time")
	}
	return Timestamp{Time: t.UTC(), coarse: len(frac) < 4}, nil
}

// String formats t as STIX requires.
func (t Timestamp) String() string {
	u := t.UTC()
	frac := fmt.Sprintf("%09d", u.Nanosecond())
	frac = strings.TrimRight(frac, "0")
	if len(frac) < 3 {
		frac += strings.Repeat("0", 3-len(frac))
	}
	return u.Format("2006-01-02T15:04:05") + "." + frac + "Z"
}

// MarshalJSON implements json.Marshaler.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("timestamp year %d outside 0000-9999", y)
	}
	return []byte(`"` + t.String() + `"`), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	v, err := ParseTimestamp(s)
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (t Timestamp) MarshalText() ([]byte, error) {
	b, err := t.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return b[1 : len(b)-1], nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *Timestamp) UnmarshalText(b []byte) error {
	v, err := ParseTimestamp(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// ExternalReference points to non-STIX information.
type ExternalReference struct {
	SourceName  string                     `json:"source_name"`
	Description string                     `json:"description,omitempty"`
	URL         string                     `json:"url,omitempty"`
	Hashes      map[string]string          `json:"hashes,omitempty"`
	ExternalID  string                     `json:"external_id,omitempty"`
	Custom      map[string]json.RawMessage `json:"-"`
}

// MarshalJSON implements json.Marshaler.
func (r ExternalReference) MarshalJSON() ([]byte, error) {
	type plain ExternalReference
	return encodeProps((*plain)(&r), r.Custom)
}

// UnmarshalJSON implements json.Unmarshaler.
func (r *ExternalReference) UnmarshalJSON(b []byte) error {
	type plain ExternalReference
	if err := decodeInto(b, (*plain)(r), &r.Custom); err != nil {
		return fmt.Errorf("external reference: %w", err)
	}
	return nil
}

// GranularMarking applies a marking (or a language) to some properties of
// an object, chosen by selectors.
type GranularMarking struct {
	Lang       string   `json:"lang,omitempty"`
	MarkingRef string   `json:"marking_ref,omitempty"`
	Selectors  []string `json:"selectors"`
}

// KillChainPhase names a phase of a kill chain.
type KillChainPhase struct {
	KillChainName string `json:"kill_chain_name"`
	PhaseName     string `json:"phase_name"`
}

// Common holds the properties shared by domain and relationship objects
// (and by extension-definition). Custom keeps every property the enclosing
// type does not model, custom x_ properties included.
type Common struct {
	Type               string                     `json:"type"`
	SpecVersion        string                     `json:"spec_version,omitempty"`
	ID                 string                     `json:"id"`
	CreatedByRef       string                     `json:"created_by_ref,omitempty"`
	Created            Timestamp                  `json:"created,omitzero"`
	Modified           Timestamp                  `json:"modified,omitzero"`
	Revoked            bool                       `json:"revoked,omitempty"`
	Labels             []string                   `json:"labels,omitempty"`
	Confidence         *int                       `json:"confidence,omitempty"`
	Lang               string                     `json:"lang,omitempty"`
	ExternalReferences []ExternalReference        `json:"external_references,omitempty"`
	ObjectMarkingRefs  []string                   `json:"object_marking_refs,omitempty"`
	GranularMarkings   []GranularMarking          `json:"granular_markings,omitempty"`
	Extensions         map[string]json.RawMessage `json:"extensions,omitempty"`
	Custom             map[string]json.RawMessage `json:"-"`
}

// ObjectType implements Object.
func (c Common) ObjectType() string { return c.Type }

// ObjectID implements Object.
func (c Common) ObjectID() string { return c.ID }

// MarkingRefs implements Object.
func (c Common) MarkingRefs() []string { return markingRefs(c.ObjectMarkingRefs, c.GranularMarkings) }

// LabelList returns the object's labels, which may carry MISP tlp: tags.
func (c Common) LabelList() []string { return c.Labels }

// newCommon returns the common properties of a fresh object of type typ,
// created and modified at now.
func newCommon(typ string, now time.Time) Common {
	ts := NewTimestamp(now.Truncate(time.Millisecond))
	return Common{Type: typ, SpecVersion: SpecVersion, ID: NewID(typ), Created: ts, Modified: ts}
}

// ObservableCommon holds the properties shared by cyber-observable objects.
type ObservableCommon struct {
	Type              string                     `json:"type"`
	SpecVersion       string                     `json:"spec_version,omitempty"`
	ID                string                     `json:"id"`
	ObjectMarkingRefs []string                   `json:"object_marking_refs,omitempty"`
	GranularMarkings  []GranularMarking          `json:"granular_markings,omitempty"`
	Defanged          bool                       `json:"defanged,omitempty"`
	Extensions        map[string]json.RawMessage `json:"extensions,omitempty"`
	Custom            map[string]json.RawMessage `json:"-"`
}

// ObjectType implements Object.
func (c ObservableCommon) ObjectType() string { return c.Type }

// ObjectID implements Object.
func (c ObservableCommon) ObjectID() string { return c.ID }

// MarkingRefs implements Object.
func (c ObservableCommon) MarkingRefs() []string {
	return markingRefs(c.ObjectMarkingRefs, c.GranularMarkings)
}

func markingRefs(object []string, granular []GranularMarking) []string {
	refs := slices.Clone(object)
	for _, g := range granular {
		if g.MarkingRef != "" {
			refs = append(refs, g.MarkingRef)
		}
	}
	return refs
}

// Identity describes an individual, organisation or group, such as the
// producer of a feed or an exchange that holds a wallet.
type Identity struct {
	Common
	Name               string   `json:"name,omitempty"`
	Description        string   `json:"description,omitempty"`
	Roles              []string `json:"roles,omitempty"`
	IdentityClass      string   `json:"identity_class,omitempty"`
	Sectors            []string `json:"sectors,omitempty"`
	ContactInformation string   `json:"contact_information,omitempty"`
}

// NewIdentity returns an identity with a fresh id, created now.
func NewIdentity(name, class string) *Identity {
	return &Identity{Common: newCommon(TypeIdentity, time.Now()), Name: name, IdentityClass: class}
}

// ThreatActor describes an individual or group behind malicious activity.
type ThreatActor struct {
	Common
	Name                 string    `json:"name,omitempty"`
	Description          string    `json:"description,omitempty"`
	ThreatActorTypes     []string  `json:"threat_actor_types,omitempty"`
	Aliases              []string  `json:"aliases,omitempty"`
	FirstSeen            Timestamp `json:"first_seen,omitzero"`
	LastSeen             Timestamp `json:"last_seen,omitzero"`
	Roles                []string  `json:"roles,omitempty"`
	Goals                []string  `json:"goals,omitempty"`
	Sophistication       string    `json:"sophistication,omitempty"`
	ResourceLevel        string    `json:"resource_level,omitempty"`
	PrimaryMotivation    string    `json:"primary_motivation,omitempty"`
	SecondaryMotivations []string  `json:"secondary_motivations,omitempty"`
	PersonalMotivations  []string  `json:"personal_motivations,omitempty"`
}

// IntrusionSet groups adversarial behaviour believed to share one owner,
// such as a ransomware operation and its payment wallets.
type IntrusionSet struct {
	Common
	Name                 string    `json:"name,omitempty"`
	Description          string    `json:"description,omitempty"`
	Aliases              []string  `json:"aliases,omitempty"`
	FirstSeen            Timestamp `json:"first_seen,omitzero"`
	LastSeen             Timestamp `json:"last_seen,omitzero"`
	Goals                []string  `json:"goals,omitempty"`
	ResourceLevel        string    `json:"resource_level,omitempty"`
	PrimaryMotivation    string    `json:"primary_motivation,omitempty"`
	SecondaryMotivations []string  `json:"secondary_motivations,omitempty"`
}

// Incident records a security incident, such as a theft of funds.
type Incident struct {
	Common
	Name            string           `json:"name,omitempty"`
	Description     string           `json:"description,omitempty"`
	KillChainPhases []KillChainPhase `json:"kill_chain_phases,omitempty"`
}

// Report is a collection of intelligence on one or more topics.
type Report struct {
	Common
	Name        string    `json:"name,omitempty"`
	Description string    `json:"description,omitempty"`
	ReportTypes []string  `json:"report_types,omitempty"`
	Published   Timestamp `json:"published,omitzero"`
	ObjectRefs  []string  `json:"object_refs,omitempty"`
}

// Indicator is a pattern that detects suspicious activity, such as a
// payment to a known wallet.
type Indicator struct {
	Common
	Name            string           `json:"name,omitempty"`
	Description     string           `json:"description,omitempty"`
	IndicatorTypes  []string         `json:"indicator_types,omitempty"`
	Pattern         string           `json:"pattern,omitempty"`
	PatternType     string           `json:"pattern_type,omitempty"`
	PatternVersion  string           `json:"pattern_version,omitempty"`
	ValidFrom       Timestamp        `json:"valid_from,omitzero"`
	ValidUntil      Timestamp        `json:"valid_until,omitzero"`
	KillChainPhases []KillChainPhase `json:"kill_chain_phases,omitempty"`
}

// Relationship links two objects, for example an intrusion set that "uses"
// a wallet.
type Relationship struct {
	Common
	RelationshipType string    `json:"relationship_type,omitempty"`
	Description      string    `json:"description,omitempty"`
	SourceRef        string    `json:"source_ref,omitempty"`
	TargetRef        string    `json:"target_ref,omitempty"`
	StartTime        Timestamp `json:"start_time,omitzero"`
	StopTime         Timestamp `json:"stop_time,omitzero"`
}

// Sighting records that something (an indicator, a threat actor) was seen.
type Sighting struct {
	Common
	Description      string    `json:"description,omitempty"`
	FirstSeen        Timestamp `json:"first_seen,omitzero"`
	LastSeen         Timestamp `json:"last_seen,omitzero"`
	Count            *int      `json:"count,omitempty"`
	SightingOfRef    string    `json:"sighting_of_ref,omitempty"`
	ObservedDataRefs []string  `json:"observed_data_refs,omitempty"`
	WhereSightedRefs []string  `json:"where_sighted_refs,omitempty"`
	Summary          bool      `json:"summary,omitempty"`
}

// Note adds analyst context to other objects.
type Note struct {
	Common
	Abstract   string   `json:"abstract,omitempty"`
	Content    string   `json:"content,omitempty"`
	Authors    []string `json:"authors,omitempty"`
	ObjectRefs []string `json:"object_refs,omitempty"`
}

// ExtensionDefinition describes an extension, such as the one that adds
// the cryptocurrency-wallet observable.
type ExtensionDefinition struct {
	Common
	Name                string   `json:"name,omitempty"`
	Description         string   `json:"description,omitempty"`
	Schema              string   `json:"schema,omitempty"`
	Version             string   `json:"version,omitempty"`
	ExtensionTypes      []string `json:"extension_types,omitempty"`
	ExtensionProperties []string `json:"extension_properties,omitempty"`
}

// MarkingDefinition is a data marking such as a TLP level or a statement.
// Marking definitions are not versioned, so unlike other objects they have
// no modified, revoked, labels or confidence properties.
type MarkingDefinition struct {
	Type               string                     `json:"type"`
	SpecVersion        string                     `json:"spec_version,omitempty"`
	ID                 string                     `json:"id"`
	CreatedByRef       string                     `json:"created_by_ref,omitempty"`
	Created            Timestamp                  `json:"created,omitzero"`
	Name               string                     `json:"name,omitempty"`
	ExternalReferences []ExternalReference        `json:"external_references,omitempty"`
	ObjectMarkingRefs  []string                   `json:"object_marking_refs,omitempty"`
	GranularMarkings   []GranularMarking          `json:"granular_markings,omitempty"`
	DefinitionType     string                     `json:"definition_type,omitempty"`
	Definition         json.RawMessage            `json:"definition,omitempty"`
	Extensions         map[string]json.RawMessage `json:"extensions,omitempty"`
	Custom             map[string]json.RawMessage `json:"-"`
}

// ObjectType implements Object.
func (m MarkingDefinition) ObjectType() string { return m.Type }

// ObjectID implements Object.
func (m MarkingDefinition) ObjectID() string { return m.ID }

// MarkingRefs implements Object.
func (m MarkingDefinition) MarkingRefs() []string {
	return markingRefs(m.ObjectMarkingRefs, m.GranularMarkings)
}

// Statement returns the text of a statement marking.
func (m MarkingDefinition) Statement() (string, bool) {
	if m.DefinitionType != "statement" {
		return "", false
	}
	var d struct {
		Statement *string `json:"statement"`
	}
	if json.Unmarshal(m.Definition, &d) != nil || d.Statement == nil {
		return "", false
	}
	return *d.Statement, true
}

// CryptocurrencyWallet is the cryptocurrency-wallet observable: one
// address (or other wallet identifier) in Value.
type CryptocurrencyWallet struct {
	ObservableCommon
	Value     string `json:"value,omitempty"`
	HolderRef string `json:"holder_ref,omitempty"`
}

// NewWallet returns the wallet observable for value with its deterministic
// id. Callers should canonicalise the address first (for example lower-case
// bech32), since the id is computed from the exact text.
func NewWallet(value string) *CryptocurrencyWallet {
	return &CryptocurrencyWallet{
		ObservableCommon: ObservableCommon{
			Type:        TypeCryptocurrencyWallet,
			SpecVersion: SpecVersion,
			ID:          WalletID(value),
			Extensions: map[string]json.RawMessage{
				WalletExtensionID: json.RawMessage(`{"extension_type":"new-sco"}`),
			},
		},
		Value: value,
	}
}

// Generic is an object of a type this package does not model: another
// STIX 2.1 type (malware, campaign, ipv4-addr, ...) or a custom one.
// Properties holds every property except type and id, verbatim.
type Generic struct {
	Type       string
	ID         string
	Properties map[string]json.RawMessage
}

// ObjectType implements Object.
func (g *Generic) ObjectType() string { return g.Type }

// ObjectID implements Object.
func (g *Generic) ObjectID() string { return g.ID }

// MarkingRefs implements Object.
func (g *Generic) MarkingRefs() []string {
	var refs []string
	var granular []GranularMarking
	// Malformed markings are Validate's business; here they mark nothing.
	_ = json.Unmarshal(g.Properties["object_marking_refs"], &refs)
	_ = json.Unmarshal(g.Properties["granular_markings"], &granular)
	return markingRefs(refs, granular)
}

// MarshalJSON implements json.Marshaler.
func (g *Generic) MarshalJSON() ([]byte, error) {
	head := struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}{g.Type, g.ID}
	props := g.Properties
	if _, ok := props["type"]; ok {
		return nil, fmt.Errorf("%s: type belongs in Generic.Type, not Properties", g.ID)
	}
	if _, ok := props["id"]; ok {
		return nil, fmt.Errorf("%s: id belongs in Generic.ID, not Properties", g.ID)
	}
	return encodeProps(&head, props)
}

// UnmarshalJSON implements json.Unmarshaler.
func (g *Generic) UnmarshalJSON(b []byte) error {
	var head struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}
	props, err := decodeProps(b, &head)
	if err != nil {
		return err
	}
	g.Type, g.ID, g.Properties = head.Type, head.ID, props
	return nil
}

// Bundle is a STIX bundle: a container with no semantics of its own.
type Bundle struct {
	Type    string                     `json:"type"`
	ID      string                     `json:"id"`
	Objects []Object                   `json:"objects,omitempty"`
	Custom  map[string]json.RawMessage `json:"-"`
}

// NewBundle returns a bundle with a fresh id holding objs.
func NewBundle(objs ...Object) *Bundle {
	return &Bundle{Type: TypeBundle, ID: NewID(TypeBundle), Objects: objs}
}

// MarshalJSON implements json.Marshaler.
func (b Bundle) MarshalJSON() ([]byte, error) {
	type plain Bundle
	return encodeProps((*plain)(&b), b.Custom)
}

// UnmarshalJSON implements json.Unmarshaler. It fails on the first object
// that does not decode; ParseBundle instead sorts objects into good and
// rejected.
func (b *Bundle) UnmarshalJSON(data []byte) error {
	var raw struct {
		Type    string            `json:"type"`
		ID      string            `json:"id"`
		Objects []json.RawMessage `json:"objects,omitempty"`
	}
	custom, err := decodeProps(data, &raw)
	if err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	objs := make([]Object, 0, len(raw.Objects))
	for i, r := range raw.Objects {
		o, err := DecodeObject(r)
		if err != nil {
			return fmt.Errorf("bundle %s: object %d: %w", raw.ID, i, err)
		}
		objs = append(objs, o)
	}
	*b = Bundle{Type: raw.Type, ID: raw.ID, Objects: objs, Custom: custom}
	return nil
}

// DecodeObject decodes one STIX object, choosing the Go type by its type
// property. Types this package does not model decode as *Generic. It checks
// only that the JSON fits the type; Validate checks the STIX rules.
func DecodeObject(data []byte) (Object, error) {
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, errors.New("decode object: not a JSON object")
	}
	var head struct {
		Type *string `json:"type"`
	}
	if ms, err := members(data); err == nil {
		// The type is read from the object's members: decoding the whole
		// object for it would cost another pass.
		for _, m := range ms {
			if m.name == "type" {
				if err := json.Unmarshal(m.value, &head.Type); err != nil {
					return nil, fmt.Errorf("decode object: type: %w", err)
				}
			}
		}
	} else if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("decode object: %w", err)
	}
	if head.Type == nil {
		return nil, errors.New("decode object: no type property")
	}
	var o Object
	switch *head.Type {
	case TypeIdentity:
		o = new(Identity)
	case TypeThreatActor:
		o = new(ThreatActor)
	case TypeIntrusionSet:
		o = new(IntrusionSet)
	case TypeIncident:
		o = new(Incident)
	case TypeReport:
		o = new(Report)
	case TypeIndicator:
		o = new(Indicator)
	case TypeRelationship:
		o = new(Relationship)
	case TypeSighting:
		o = new(Sighting)
	case TypeNote:
		o = new(Note)
	case TypeMarkingDefinition:
		o = new(MarkingDefinition)
	case TypeExtensionDefinition:
		o = new(ExtensionDefinition)
	case TypeCryptocurrencyWallet:
		o = new(CryptocurrencyWallet)
	default:
		o = new(Generic)
	}
	// Each type's UnmarshalJSON decodes with encoding/json, which checks
	// the whole of data: calling it directly spares a pass over it.
	if err := o.(json.Unmarshaler).UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("decode %s: %w", *head.Type, err)
	}
	return o, nil
}

// The JSON methods of the object types all follow one shape: an alias type
// without methods does the standard encoding, and encodeProps/decodeProps
// add the properties the type does not model.

// MarshalJSON implements json.Marshaler.
func (o Identity) MarshalJSON() ([]byte, error) {
	type plain Identity
	return encodeProps((*plain)(&o), o.Custom)
}

// UnmarshalJSON implements json.Unmarshaler.
func (o *Identity) UnmarshalJSON(b []byte) error {
	type plain Identity
	return decodeInto(b, (*plain)(o), &o.Custom)
}

// MarshalJSON implements json.Marshaler.
func (o ThreatActor) MarshalJSON() ([]byte, error) {
	type plain ThreatActor
	return encodeProps((*plain)(&o), o.Custom)
}

// UnmarshalJSON implements json.Unmarshaler.
func (o *ThreatActor) UnmarshalJSON(b []byte) error {
	type plain ThreatActor
	return decodeInto(b, (*plain)(o), &o.Custom)
}

// MarshalJSON implements json.Marshaler.
func (o IntrusionSet) MarshalJSON() ([]byte, error) {
	type plain IntrusionSet
	return encodeProps((*plain)(&o), o.Custom)
}

// UnmarshalJSON implements json.Unmarshaler.
func (o *IntrusionSet) UnmarshalJSON(b []byte) error {
	type plain IntrusionSet
	return decodeInto(b, (*plain)(o), &o.Custom)
}

// MarshalJSON implements json.Marshaler.
func (o Incident) MarshalJSON() ([]byte, error) {
	type plain Incident
	return encodeProps((*plain)(&o), o.Custom)
}

// UnmarshalJSON implements json.Unmarshaler.
func (o *Incident) UnmarshalJSON(b []byte) error {
	type plain Incident
	return decodeInto(b, (*plain)(o), &o.Custom)
}

// MarshalJSON implements json.Marshaler.
func (o Report) MarshalJSON() ([]byte, error) {
	type plain Report
	return encodeProps((*plain)(&o), o.Custom)
}

// UnmarshalJSON implements json.Unmarshaler.
func (o *Report) UnmarshalJSON(b []byte) error {
	type plain Report
	return decodeInto(b, (*plain)(o), &o.Custom)
}

// MarshalJSON implements json.Marshaler.
func (o Indicator) MarshalJSON() ([]byte, error) {
	type plain Indicator
	return encodeProps((*plain)(&o), o.Custom)
}

// UnmarshalJSON implements json.Unmarshaler.
func (o *Indicator) UnmarshalJSON(b []byte) error {
	type plain Indicator
	return decodeInto(b, (*plain)(o), &o.Custom)
}

// MarshalJSON implements json.Marshaler.
func (o Relationship) MarshalJSON() ([]byte, error) {
	type plain Relationship
	return encodeProps((*plain)(&o), o.Custom)
}

// UnmarshalJSON implements json.Unmarshaler.
func (o *Relationship) UnmarshalJSON(b []byte) error {
	type plain Relationship
	return decodeInto(b, (*plain)(o), &o.Custom)
}

// MarshalJSON implements json.Marshaler.
func (o Sighting) MarshalJSON() ([]byte, error) {
	type plain Sighting
	return encodeProps((*plain)(&o), o.Custom)
}

// UnmarshalJSON implements json.Unmarshaler.
func (o *Sighting) UnmarshalJSON(b []byte) error {
	type plain Sighting
	return decodeInto(b, (*plain)(o), &o.Custom)
}

// MarshalJSON implements json.Marshaler.
func (o Note) MarshalJSON() ([]byte, error) {
	type plain Note
	return encodeProps((*plain)(&o), o.Custom)
}

// UnmarshalJSON implements json.Unmarshaler.
func (o *Note) UnmarshalJSON(b []byte) error {
	type plain Note
	return decodeInto(b, (*plain)(o), &o.Custom)
}

// MarshalJSON implements json.Marshaler.
func (o ExtensionDefinition) MarshalJSON() ([]byte, error) {
	type plain ExtensionDefinition
	return encodeProps((*plain)(&o), o.Custom)
}

// UnmarshalJSON implements json.Unmarshaler.
func (o *ExtensionDefinition) UnmarshalJSON(b []byte) error {
	type plain ExtensionDefinition
	return decodeInto(b, (*plain)(o), &o.Custom)
}

// MarshalJSON implements json.Marshaler.
func (m MarkingDefinition) MarshalJSON() ([]byte, error) {
	type plain MarkingDefinition
	return encodeProps((*plain)(&m), m.Custom)
}

// UnmarshalJSON implements json.Unmarshaler.
func (m *MarkingDefinition) UnmarshalJSON(b []byte) error {
	type plain MarkingDefinition
	return decodeInto(b, (*plain)(m), &m.Custom)
}

// MarshalJSON implements json.Marshaler.
func (o CryptocurrencyWallet) MarshalJSON() ([]byte, error) {
	type plain CryptocurrencyWallet
	return encodeProps((*plain)(&o), o.Custom)
}

// UnmarshalJSON implements json.Unmarshaler.
func (o *CryptocurrencyWallet) UnmarshalJSON(b []byte) error {
	type plain CryptocurrencyWallet
	return decodeInto(b, (*plain)(o), &o.Custom)
}

// decodeInto decodes b into v, a pointer to a method-less alias of an
// object type, and stores the properties v does not model in *custom. The
// whole value is replaced, so no stale field survives a reused receiver.
func decodeInto(b []byte, v any, custom *map[string]json.RawMessage) error {
	rv := reflect.ValueOf(v).Elem()
	fresh := reflect.New(rv.Type())
	c, err := decodeProps(b, fresh.Interface())
	if err != nil {
		return err
	}
	rv.Set(fresh.Elem())
	*custom = c
	return nil
}

// decodeProps decodes the JSON object b into v (a pointer to a struct
// without JSON methods of its own) and returns the properties v has no
// field for. encoding/json matches field names case-insensitively, but
// STIX property names are case-sensitive, so a name that differs from a
// modelled one only in case is an error rather than a silent alias.
func decodeProps(b []byte, v any) (map[string]json.RawMessage, error) {
	ms, err := members(b)
	if err != nil {
		// Let encoding/json say what is wrong.
		var all map[string]json.RawMessage
		if err := json.Unmarshal(b, &all); err != nil {
			return nil, err
		}
		if all == nil {
			return nil, errors.New("not a JSON object")
		}
		return nil, err
	}
	known := jsonFields(reflect.TypeOf(v).Elem())
	var custom map[string]json.RawMessage
	for _, m := range ms {
		if known[m.name] {
			continue
		}
		for name := range known {
			if strings.EqualFold(name, m.name) {
				return nil, fmt.Errorf("property %q: names are case-sensitive (want %q)", m.name, name)
			}
		}
		if custom == nil {
			custom = map[string]json.RawMessage{}
		}
		custom[m.name] = bytes.Clone(m.value)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return nil, err
	}
	return custom, nil
}

// encodeProps encodes v (a pointer to a struct without JSON methods of its
// own) and appends the custom properties, sorted by name so the output is
// deterministic.
func encodeProps(v any, custom map[string]json.RawMessage) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(custom) == 0 {
		return b, err
	}
	known := jsonFields(reflect.TypeOf(v).Elem())
	var buf bytes.Buffer
	buf.Write(b[:len(b)-1])
	first := len(b) == 2
	for _, k := range slices.Sorted(maps.Keys(custom)) {
		if known[k] {
			return nil, fmt.Errorf("custom property %q shadows a modelled property", k)
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		key, _ := json.Marshal(k)
		buf.Write(key)
		buf.WriteByte(':')
		if err := json.Compact(&buf, custom[k]); err != nil {
			return nil, fmt.Errorf("custom property %q: %w", k, err)
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// jsonFields returns the JSON names of the fields of struct type t,
// including those of embedded structs.
func jsonFields(t reflect.Type) map[string]bool {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]bool)
	}
	f := fieldsOf(t)
	fieldCache.Store(t, f)
	return f
}

// fieldCache holds jsonFields' answers: a type's fields do not change.
var fieldCache sync.Map // reflect.Type -> map[string]bool

func fieldsOf(t reflect.Type) map[string]bool {
	names := make(map[string]bool)
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for n := range fieldsOf(f.Type) {
				names[n] = true
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names[name] = true
	}
	return names
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
