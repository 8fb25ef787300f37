package intel

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ValidationError lists the STIX 2.1 rules one object breaks.
type ValidationError struct {
	Type     string
	ID       string
	Problems []string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid %s %s: %s", e.Type, e.ID, strings.Join(e.Problems, "; "))
}

// Validate checks obj against the rules of the STIX 2.1 specification for
// its type: identifier form, required properties, timestamp order, property
// names, markings and extensions, plus the type's own rules (an indicator's
// STIX pattern must parse, a wallet's id must be its deterministic id, and
// so on). It returns a *ValidationError listing every problem found.
//
// Objects of types this package does not model (*Generic) are held to the
// common rules of their kind. A type that is not a STIX 2.1 type is
// accepted only as a custom object: either named with the "x-" prefix of
// the custom-object mechanism, or declared by a new-sdo, new-sco or new-sro
// extension. Other unknown names may gain a different meaning in a future
// STIX version, and the spec lets a consumer refuse content it does not
// understand, so they are rejected.
func Validate(obj Object) error {
	if obj == nil {
		return errors.New("validate: nil object")
	}
	c := &checker{}
	switch o := obj.(type) {
	case *Identity:
		c.common(&o.Common, TypeIdentity)
		c.required("name", o.Name)
		c.lists(map[string][]string{"roles": o.Roles, "sectors": o.Sectors})
	case *ThreatActor:
		c.common(&o.Common, TypeThreatActor)
		c.required("name", o.Name)
		c.lists(map[string][]string{
			"threat_actor_types": o.ThreatActorTypes, "aliases": o.Aliases, "roles": o.Roles, "goals": o.Goals,
			"secondary_motivations": o.SecondaryMotivations, "personal_motivations": o.PersonalMotivations,
		})
		c.notBefore("last_seen", o.LastSeen, "first_seen", o.FirstSeen)
	case *IntrusionSet:
		c.common(&o.Common, TypeIntrusionSet)
		c.required("name", o.Name)
		c.lists(map[string][]string{"aliases": o.Aliases, "goals": o.Goals, "secondary_motivations": o.SecondaryMotivations})
		c.notBefore("last_seen", o.LastSeen, "first_seen", o.FirstSeen)
	case *Incident:
		c.common(&o.Common, TypeIncident)
		c.required("name", o.Name)
		c.killChain(o.KillChainPhases)
	case *Report:
		c.common(&o.Common, TypeReport)
		c.required("name", o.Name)
		if o.Published.IsZero() {
			c.addf("published: required")
		}
		c.lists(map[string][]string{"report_types": o.ReportTypes})
		c.refs("object_refs", o.ObjectRefs, true)
	case *Indicator:
		c.indicator(o)
	case *Relationship:
		c.relationship(o)
	case *Sighting:
		c.sighting(o)
	case *Note:
		c.common(&o.Common, TypeNote)
		c.required("content", o.Content)
		c.lists(map[string][]string{"authors": o.Authors})
		c.refs("object_refs", o.ObjectRefs, true)
	case *ExtensionDefinition:
		c.extensionDefinition(o)
	case *MarkingDefinition:
		c.markingDefinition(o)
	case *CryptocurrencyWallet:
		c.wallet(o)
	case *Generic:
		c.generic(o)
	default:
		return fmt.Errorf("validate: unsupported Go type %T", obj)
	}
	if len(c.problems) == 0 {
		return nil
	}
	return &ValidationError{Type: obj.ObjectType(), ID: obj.ObjectID(), Problems: c.problems}
}

type checker struct {
	problems []string
}

func (c *checker) addf(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

func (c *checker) required(name, v string) {
	if v == "" {
		c.addf("%s: required", name)
	}
}

// lists checks optional lists: the spec forbids empty lists in place of an
// absent property.
func (c *checker) lists(ls map[string][]string) {
	for _, name := range slices.Sorted(maps.Keys(ls)) {
		if l := ls[name]; l != nil && len(l) == 0 {
			c.addf("%s: empty list (omit the property instead)", name)
		}
	}
}

// notBefore checks that later is not before earlier, when both are set.
func (c *checker) notBefore(laterName string, later Timestamp, earlierName string, earlier Timestamp) {
	if !later.IsZero() && !earlier.IsZero() && later.Before(earlier.Time) {
		c.addf("%s %s is before %s %s", laterName, later, earlierName, earlier)
	}
}

// after checks that later is strictly after earlier, when both are set.
func (c *checker) after(laterName string, later Timestamp, earlierName string, earlier Timestamp) {
	if !later.IsZero() && !earlier.IsZero() && !later.After(earlier.Time) {
		c.addf("%s %s is not after %s %s", laterName, later, earlierName, earlier)
	}
}

// id checks an identifier "type--UUID" whose type must be want.
func (c *checker) id(field, id, want string) {
	typ, err := parseIdentifier(id)
	switch {
	case err != nil:
		c.addf("%s: %v", field, err)
	case want != "" && typ != want:
		c.addf("%s: %q does not start with %q", field, id, want+"--")
	}
}

// ref checks a reference to another object, which must be of one of the
// allowed types if any are given.
func (c *checker) ref(field, ref string, allowed ...string) {
	typ, err := parseIdentifier(ref)
	switch {
	case err != nil:
		c.addf("%s: %v", field, err)
	case len(allowed) > 0 && !slices.Contains(allowed, typ):
		c.addf("%s: %q must reference %s", field, ref, strings.Join(allowed, " or "))
	}
}

// refs checks a list of references; required lists must not be empty.
func (c *checker) refs(field string, refs []string, required bool, allowed ...string) {
	switch {
	case refs == nil && required:
		c.addf("%s: required", field)
	case refs != nil && len(refs) == 0:
		c.addf("%s: empty list", field)
	}
	for i, r := range refs {
		c.ref(fmt.Sprintf("%s[%d]", field, i), r, allowed...)
	}
}

// parseIdentifier splits and checks "type--UUID".
func parseIdentifier(id string) (typ string, err error) {
	typ, u, ok := strings.Cut(id, "--")
	if !ok {
		return "", fmt.Errorf("identifier %q: want type--UUID", id)
	}
	if !validTypeName(typ) {
		return "", fmt.Errorf("identifier %q: bad type %q", id, typ)
	}
	if err := parseUUID(u); err != nil {
		return "", fmt.Errorf("identifier %q: %w", id, err)
	}
	return typ, nil
}

// validTypeName checks the spec's rule for type names: 3 to 250 of a-z,
// 0-9 and hyphen, starting with a letter, without two hyphens in a row.
func validTypeName(t string) bool {
	if len(t) < 3 || len(t) > 250 || t[0] < 'a' || t[0] > 'z' || strings.Contains(t, "--") {
		return false
	}
	for i := range len(t) {
		if c := t[i]; !('a' <= c && c <= 'z' || isDigit(c) || c == '-') {
			return false
		}
	}
	return true
}

// validPropertyName checks the spec's rule for property names: 3 to 250
// of a-z, 0-9 and underscore, starting with a letter.
func validPropertyName(p string) bool {
	if len(p) < 3 || len(p) > 250 || p[0] < 'a' || p[0] > 'z' {
		return false
	}
	for i := range len(p) {
		if c := p[i]; !('a' <= c && c <= 'z' || isDigit(c) || c == '_') {
			return false
		}
	}
	return true
}

// customProps checks the names of properties the type does not define.
// Names the spec reserves for future use may not be used at all.
func (c *checker) customProps(custom map[string]json.RawMessage) {
	for _, k := range slices.Sorted(maps.Keys(custom)) {
		switch {
		case !validPropertyName(k):
			c.addf("property %q: names are 3-250 characters of a-z, 0-9 and _, starting with a letter", k)
		case k == "severity" || k == "action" || k == "username" || k == "phone_numbers":
			c.addf("property %q: reserved by the specification", k)
		}
	}
}

// spec checks spec_version; SCOs may omit it.
func (c *checker) spec(v string, required bool) {
	switch {
	case v == "" && required:
		c.addf("spec_version: required")
	case v != "" && v != SpecVersion:
		c.addf("spec_version: %q, want %q", v, SpecVersion)
	}
}

// common checks the properties shared by domain and relationship objects.
func (c *checker) common(cm *Common, typ string) {
	if cm.Type != typ {
		c.addf("type: %q, want %q", cm.Type, typ)
	}
	c.spec(cm.SpecVersion, true)
	c.id("id", cm.ID, typ)
	switch {
	case cm.Created.IsZero():
		c.addf("created: required")
	case cm.Created.coarse:
		c.addf("created: must be precise to the millisecond")
	}
	switch {
	case cm.Modified.IsZero():
		c.addf("modified: required")
	case cm.Modified.coarse:
		c.addf("modified: must be precise to the millisecond")
	}
	c.notBefore("modified", cm.Modified, "created", cm.Created)
	if cm.CreatedByRef != "" {
		c.ref("created_by_ref", cm.CreatedByRef, TypeIdentity)
	}
	if cm.Confidence != nil && (*cm.Confidence < 0 || *cm.Confidence > 100) {
		c.addf("confidence: %d outside 0-100", *cm.Confidence)
	}
	c.lists(map[string][]string{"labels": cm.Labels})
	c.externalRefs(cm.ExternalReferences)
	c.markings(cm.ObjectMarkingRefs, cm.GranularMarkings)
	c.extensions(cm.Extensions)
	c.customProps(cm.Custom)
}

func (c *checker) externalRefs(refs []ExternalReference) {
	if refs != nil && len(refs) == 0 {
		c.addf("external_references: empty list")
	}
	for i, r := range refs {
		if r.SourceName == "" {
			c.addf("external_references[%d]: source_name required", i)
		}
		if r.Description == "" && r.URL == "" && r.ExternalID == "" {
			c.addf("external_references[%d]: needs a description, url or external_id", i)
		}
	}
}

func (c *checker) markings(object []string, granular []GranularMarking) {
	c.refs("object_marking_refs", object, false, TypeMarkingDefinition)
	if granular != nil && len(granular) == 0 {
		c.addf("granular_markings: empty list")
	}
	for i, g := range granular {
		field := fmt.Sprintf("granular_markings[%d]", i)
		switch {
		case g.MarkingRef == "" && g.Lang == "":
			c.addf("%s: needs marking_ref or lang", field)
		case g.MarkingRef != "" && g.Lang != "":
			c.addf("%s: marking_ref and lang are exclusive", field)
		case g.MarkingRef != "":
			c.ref(field+".marking_ref", g.MarkingRef, TypeMarkingDefinition)
		}
		if len(g.Selectors) == 0 {
			c.addf("%s: selectors required", field)
		}
	}
}

func (c *checker) killChain(phases []KillChainPhase) {
	if phases != nil && len(phases) == 0 {
		c.addf("kill_chain_phases: empty list")
	}
	for i, k := range phases {
		if k.KillChainName == "" || k.PhaseName == "" {
			c.addf("kill_chain_phases[%d]: kill_chain_name and phase_name required", i)
		}
	}
}

// validExtensionType reports whether t is in extension-type-enum.
func validExtensionType(t string) bool {
	switch t {
	case "new-sdo", "new-sco", "new-sro", "property-extension", "toplevel-property-extension":
		return true
	}
	return false
}

// extensions checks the extensions dictionary: keys are extension
// definition ids or the names of predefined extensions ("...-ext"), values
// non-empty objects.
func (c *checker) extensions(ext map[string]json.RawMessage) {
	if ext != nil && len(ext) == 0 {
		c.addf("extensions: empty dictionary")
	}
	for _, k := range slices.Sorted(maps.Keys(ext)) {
		field := "extensions." + k
		switch {
		case strings.HasPrefix(k, TypeExtensionDefinition+"--"):
			c.id(field, k, TypeExtensionDefinition)
		case strings.HasSuffix(k, "-ext") && validTypeName(k):
		default:
			c.addf("%s: key is neither an extension-definition id nor a predefined extension name", field)
			continue
		}
		var body map[string]json.RawMessage
		if err := json.Unmarshal(ext[k], &body); err != nil || body == nil {
			c.addf("%s: not an object", field)
			continue
		}
		if len(body) == 0 {
			c.addf("%s: empty", field)
		}
		if raw, ok := body["extension_type"]; ok {
			var t string
			if json.Unmarshal(raw, &t) != nil || !validExtensionType(t) {
				c.addf("%s: extension_type %s is not in extension-type-enum", field, raw)
			}
		}
	}
}

// extensionType returns the extension_type of the extension keyed id.
func extensionType(ext map[string]json.RawMessage, id string) string {
	var body struct {
		Type string `json:"extension_type"`
	}
	if json.Unmarshal(ext[id], &body) != nil {
		return ""
	}
	return body.Type
}

func (c *checker) indicator(o *Indicator) {
	c.common(&o.Common, TypeIndicator)
	c.required("pattern", o.Pattern)
	c.required("pattern_type", o.PatternType)
	if o.ValidFrom.IsZero() {
		c.addf("valid_from: required")
	}
	c.after("valid_until", o.ValidUntil, "valid_from", o.ValidFrom)
	c.lists(map[string][]string{"indicator_types": o.IndicatorTypes})
	c.killChain(o.KillChainPhases)
	if o.PatternType == "stix" && o.Pattern != "" {
		if _, err := ParsePattern(o.Pattern); err != nil {
			c.addf("%v", err)
		}
	}
}

// unrelatable are the types a relationship or sighting may not point at:
// relationships and meta objects are not part of the graph they describe.
func unrelatable(ref string) bool {
	typ, _, _ := strings.Cut(ref, "--")
	switch typ {
	case TypeRelationship, TypeSighting, TypeBundle, TypeMarkingDefinition, "language-content":
		return true
	}
	return false
}

func (c *checker) relationship(o *Relationship) {
	c.common(&o.Common, TypeRelationship)
	switch t := o.RelationshipType; {
	case t == "":
		c.addf("relationship_type: required")
	case strings.Trim(t, "abcdefghijklmnopqrstuvwxyz0123456789-") != "":
		c.addf("relationship_type: %q may use only a-z, 0-9 and -", t)
	}
	for _, r := range []struct{ name, ref string }{{"source_ref", o.SourceRef}, {"target_ref", o.TargetRef}} {
		switch {
		case r.ref == "":
			c.addf("%s: required", r.name)
		case unrelatable(r.ref):
			c.addf("%s: %q cannot be the end of a relationship", r.name, r.ref)
		default:
			c.ref(r.name, r.ref)
		}
	}
	c.after("stop_time", o.StopTime, "start_time", o.StartTime)
}

func (c *checker) sighting(o *Sighting) {
	c.common(&o.Common, TypeSighting)
	switch {
	case o.SightingOfRef == "":
		c.addf("sighting_of_ref: required")
	case unrelatable(o.SightingOfRef):
		c.addf("sighting_of_ref: %q is not a domain object", o.SightingOfRef)
	default:
		c.ref("sighting_of_ref", o.SightingOfRef)
	}
	c.refs("observed_data_refs", o.ObservedDataRefs, false, "observed-data")
	c.refs("where_sighted_refs", o.WhereSightedRefs, false, TypeIdentity, "location")
	if o.Count != nil && (*o.Count < 0 || *o.Count > 999999999) {
		c.addf("count: %d outside 0-999999999", *o.Count)
	}
	c.notBefore("last_seen", o.LastSeen, "first_seen", o.FirstSeen)
}

func (c *checker) extensionDefinition(o *ExtensionDefinition) {
	c.common(&o.Common, TypeExtensionDefinition)
	if o.CreatedByRef == "" {
		c.addf("created_by_ref: required for extension definitions")
	}
	c.required("name", o.Name)
	c.required("schema", o.Schema)
	c.required("version", o.Version)
	if len(o.ExtensionTypes) == 0 {
		c.addf("extension_types: required")
	}
	for _, t := range o.ExtensionTypes {
		if !validExtensionType(t) {
			c.addf("extension_types: %q is not in extension-type-enum", t)
		}
	}
	c.lists(map[string][]string{"extension_properties": o.ExtensionProperties})
	if o.ExtensionProperties != nil && !slices.Contains(o.ExtensionTypes, "toplevel-property-extension") {
		c.addf("extension_properties: only for toplevel-property-extension")
	}
}

func (c *checker) markingDefinition(m *MarkingDefinition) {
	if m.Type != TypeMarkingDefinition {
		c.addf("type: %q, want %q", m.Type, TypeMarkingDefinition)
	}
	c.spec(m.SpecVersion, true)
	c.id("id", m.ID, TypeMarkingDefinition)
	switch {
	case m.Created.IsZero():
		c.addf("created: required")
	case m.Created.coarse:
		c.addf("created: must be precise to the millisecond")
	}
	if m.CreatedByRef != "" {
		c.ref("created_by_ref", m.CreatedByRef, TypeIdentity)
	}
	c.externalRefs(m.ExternalReferences)
	c.markings(m.ObjectMarkingRefs, m.GranularMarkings)
	if slices.Contains(m.MarkingRefs(), m.ID) {
		c.addf("object_marking_refs: a marking definition cannot mark itself")
	}
	c.extensions(m.Extensions)
	c.customProps(m.Custom)

	if m.Extensions == nil && (m.DefinitionType == "" || m.Definition == nil) {
		c.addf("definition_type and definition: required without extensions")
	}
	if (m.DefinitionType == "") != (m.Definition == nil) {
		c.addf("definition_type and definition: one without the other")
	}
	switch m.DefinitionType {
	case "statement":
		if _, ok := m.Statement(); !ok {
			c.addf("definition: a statement marking needs a string statement")
		}
	case "tlp":
		var d struct {
			TLP string `json:"tlp"`
		}
		if json.Unmarshal(m.Definition, &d) != nil || !slices.Contains([]string{"white", "green", "amber", "red"}, d.TLP) {
			c.addf("definition: tlp must be white, green, amber or red")
		} else if legacy, _ := mustTLP(d.TLP).LegacyMarkingID(); legacy != m.ID {
			c.addf("id: a TLP 1.0 marking must use the fixed id %s", legacy)
		}
	}
	// The fixed TLP ids name their levels; a body that says otherwise is a
	// forgery or a mistake, and either way must not be believed.
	if want, ok := TLPFromMarkingID(m.ID); ok {
		if got, ok := tlpFromBody(m); !ok || got != want {
			c.addf("id: %s is the fixed id of %v, but the definition does not say so", m.ID, want)
		}
	}
	if raw, ok := m.Extensions[TLP2ExtensionID]; ok {
		var e struct {
			TLP string `json:"tlp_2_0"`
		}
		_ = json.Unmarshal(raw, &e)
		t, err := ParseTLP(e.TLP)
		switch {
		case err != nil || !slices.Contains([]string{"clear", "green", "amber", "amber+strict", "red"}, e.TLP):
			c.addf("extensions.%s: tlp_2_0 must be clear, green, amber, amber+strict or red", TLP2ExtensionID)
		case m.ID != t.MarkingID():
			c.addf("id: a TLP 2.0 marking must use the fixed id %s", t.MarkingID())
		}
	}
}

// mustTLP maps a TLP 1.0 level name already known to be valid.
func mustTLP(level string) TLP {
	t, _ := ParseTLP(level)
	return t
}

func (c *checker) observableCommon(oc *ObservableCommon, typ string) {
	if oc.Type != typ {
		c.addf("type: %q, want %q", oc.Type, typ)
	}
	c.spec(oc.SpecVersion, false)
	c.id("id", oc.ID, typ)
	c.markings(oc.ObjectMarkingRefs, oc.GranularMarkings)
	c.extensions(oc.Extensions)
	c.customProps(oc.Custom)
}

func (c *checker) wallet(w *CryptocurrencyWallet) {
	c.observableCommon(&w.ObservableCommon, TypeCryptocurrencyWallet)
	switch {
	case w.Value == "":
		c.addf("value: required")
	case w.ID != WalletID(w.Value):
		// The spec only recommends deterministic observable ids, but
		// without them the same address from two feeds would be two
		// wallets, so this package insists.
		c.addf("id: want the deterministic %s for this value", WalletID(w.Value))
	}
	if w.HolderRef != "" {
		c.ref("holder_ref", w.HolderRef, TypeIdentity)
	}
	if _, ok := w.Extensions[WalletExtensionID]; !ok {
		c.addf("extensions: the %s extension is required", WalletExtensionID)
	} else if t := extensionType(w.Extensions, WalletExtensionID); t != "new-sco" {
		c.addf("extensions.%s: extension_type %q, want \"new-sco\"", WalletExtensionID, t)
	}
}

// objectKind is the category a type belongs to, which decides the common
// rules it follows.
type objectKind int

const (
	kindUnknown    objectKind = iota
	kindDomain                // SDOs, SROs, and meta objects versioned like them
	kindObservable            // SCOs
)

// specType reports the kind of a STIX 2.1 type that has no Go type here,
// and the properties the spec requires of it beyond the common ones.
func specType(t string) (objectKind, []string) {
	switch t {
	case "attack-pattern", "campaign", "course-of-action", "infrastructure", "tool", "vulnerability":
		return kindDomain, []string{"name"}
	case "grouping":
		return kindDomain, []string{"context", "object_refs"}
	case "location":
		return kindDomain, nil
	case "malware":
		return kindDomain, []string{"is_family"}
	case "malware-analysis":
		return kindDomain, []string{"product"}
	case "observed-data":
		return kindDomain, []string{"first_observed", "last_observed", "number_observed"}
	case "opinion":
		return kindDomain, []string{"opinion", "object_refs"}
	case "language-content":
		return kindDomain, []string{"object_ref", "object_modified", "contents"}
	case "autonomous-system":
		return kindObservable, []string{"number"}
	case "directory":
		return kindObservable, []string{"path"}
	case "domain-name", "email-addr", "ipv4-addr", "ipv6-addr", "mac-addr", "url":
		return kindObservable, []string{"value"}
	case "email-message":
		return kindObservable, []string{"is_multipart"}
	case "mutex", "software":
		return kindObservable, []string{"name"}
	case "network-traffic":
		return kindObservable, []string{"protocols"}
	case "artifact", "file", "process", "user-account", "windows-registry-key", "x509-certificate":
		return kindObservable, nil
	}
	return kindUnknown, nil
}

func (c *checker) generic(g *Generic) {
	kind, required := specType(g.Type)
	switch {
	case kind != kindUnknown:
	case g.Type == TypeBundle:
		c.addf("type: a bundle cannot contain a bundle")
		return
	case isModelledType(g.Type):
		c.addf("type: %q has a Go type of its own; decode it with DecodeObject", g.Type)
		return
	case !validTypeName(g.Type):
		c.addf("type: %q: names are 3-250 characters of a-z, 0-9 and -, starting with a letter", g.Type)
		return
	default:
		kind = customKind(g)
		if kind == kindUnknown {
			c.addf("type: %q is not a STIX 2.1 type, has no x- prefix and no new-sdo/new-sco/new-sro extension", g.Type)
			return
		}
	}
	raw, err := g.MarshalJSON()
	if err != nil {
		c.addf("%v", err)
		return
	}
	if kind == kindDomain {
		var v struct{ Common }
		if err := decodeInto(raw, &v, &v.Custom); err != nil {
			c.addf("%v", err)
			return
		}
		c.common(&v.Common, g.Type)
	} else {
		var v struct{ ObservableCommon }
		if err := decodeInto(raw, &v, &v.Custom); err != nil {
			c.addf("%v", err)
			return
		}
		c.observableCommon(&v.ObservableCommon, g.Type)
	}
	for _, p := range required {
		if _, ok := g.Properties[p]; !ok {
			c.addf("%s: required", p)
		}
	}
}

func isModelledType(t string) bool {
	switch t {
	case TypeIdentity, TypeThreatActor, TypeIntrusionSet, TypeIncident, TypeReport, TypeIndicator,
		TypeRelationship, TypeSighting, TypeNote, TypeMarkingDefinition, TypeExtensionDefinition,
		TypeCryptocurrencyWallet, TypeBundle:
		return true
	}
	return false
}

// customKind decides how a custom type is checked: by the new-object
// extension that declares it, or, for the deprecated x- custom objects,
// as a domain object if it has a created timestamp and an observable
// otherwise.
func customKind(g *Generic) objectKind {
	var ext map[string]json.RawMessage
	_ = json.Unmarshal(g.Properties["extensions"], &ext)
	for k := range ext {
		if !strings.HasPrefix(k, TypeExtensionDefinition+"--") {
			continue
		}
		switch extensionType(ext, k) {
		case "new-sdo", "new-sro":
			return kindDomain
		case "new-sco":
			return kindObservable
		}
	}
	if strings.HasPrefix(g.Type, "x-") {
		if _, ok := g.Properties["created"]; ok {
			return kindDomain
		}
		return kindObservable
	}
	return kindUnknown
}

// ErrBundleTooLarge is returned by ParseBundle for input over its limit.
var ErrBundleTooLarge = errors.New("bundle larger than the limit")

// Rejection records an object ParseBundle refused.
type Rejection struct {
	Index int    // position in the bundle's objects list
	Type  string // the object's type, if readable
	ID    string // the object's id, if readable
	Err   error  // the reason
}

func (r Rejection) String() string {
	return fmt.Sprintf("object %d (%s %s): %v", r.Index, r.Type, r.ID, r.Err)
}

// ParseBundle parses a bundle from an untrusted source. Input larger than
// maxBytes, malformed JSON, or JSON that is not a bundle is an error. Each
// object that does not decode or validate (see Validate), or repeats the id
// and modified time of an earlier one, is rejected with its index and the
// reason, and the others are kept, so one bad object does not cost a whole
// feed.
func ParseBundle(data []byte, maxBytes int) (good []Object, rejected []Rejection, err error) {
	if maxBytes <= 0 {
		return nil, nil, fmt.Errorf("parse bundle: maxBytes %d must be positive", maxBytes)
	}
	if len(data) > maxBytes {
		return nil, nil, fmt.Errorf("parse bundle: %d bytes, limit %d: %w", len(data), maxBytes, ErrBundleTooLarge)
	}
	var top struct {
		Type    *string          `json:"type"`
		ID      string           `json:"id"`
		Objects *json.RawMessage `json:"objects"`
	}
	if _, err := decodeProps(data, &top); err != nil {
		return nil, nil, fmt.Errorf("parse bundle: %w", err)
	}
	if top.Type == nil || *top.Type != TypeBundle {
		return nil, nil, errors.New("parse bundle: not a bundle (type is not \"bundle\")")
	}
	if typ, err := parseIdentifier(top.ID); err != nil || typ != TypeBundle {
		return nil, nil, fmt.Errorf("parse bundle: bad bundle id %q", top.ID)
	}
	var objects []json.RawMessage
	if top.Objects != nil {
		if err := json.Unmarshal(*top.Objects, &objects); err != nil {
			return nil, nil, fmt.Errorf("parse bundle %s: objects is not a list: %w", top.ID, err)
		}
	}
	seen := make(map[string]bool)
	for i, raw := range objects {
		typ, id := peekObject(raw)
		reject := func(err error) { rejected = append(rejected, Rejection{Index: i, Type: typ, ID: id, Err: err}) }
		o, err := DecodeObject(raw)
		if err != nil {
			reject(err)
			continue
		}
		if err := Validate(o); err != nil {
			reject(err)
			continue
		}
		key := versionKey(o)
		if seen[key] {
			reject(errors.New("repeats the id and modified time of an earlier object"))
			continue
		}
		seen[key] = true
		good = append(good, o)
	}
	return good, rejected, nil
}

// peekObject reads the type and id of an object that may not decode.
func peekObject(raw json.RawMessage) (typ, id string) {
	var head map[string]json.RawMessage
	_ = json.Unmarshal(raw, &head)
	_ = json.Unmarshal(head["type"], &typ)
	_ = json.Unmarshal(head["id"], &id)
	return typ, id
}

// versionKey identifies one version of an object: its id and, for
// versioned objects, its modified time.
func versionKey(o Object) string {
	switch o := o.(type) {
	case interface {
		Object
		modifiedAt() Timestamp
	}:
		return o.ObjectID() + "|" + o.modifiedAt().String()
	case *Generic:
		var m string
		_ = json.Unmarshal(o.Properties["modified"], &m)
		return o.ID + "|" + m
	}
	return o.ObjectID()
}

func (c Common) modifiedAt() Timestamp { return c.Modified }
