package intel

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// TLP is a Traffic Light Protocol 2.0 level. Levels are ordered from the
// least to the most restrictive, so the stricter of two is the larger.
// The zero value is not a level.
type TLP int

// The TLP 2.0 levels. TLP 1.0's WHITE is CLEAR.
const (
	TLPClear TLP = iota + 1
	TLPGreen
	TLPAmber
	TLPAmberStrict
	TLPRed
)

// TLP2ExtensionID is the extension-definition of the OASIS TLP 2.0
// marking definitions, whose level is in the property tlp_2_0.
const TLP2ExtensionID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

// The fixed ids of the OASIS TLP 2.0 marking definitions
// (cti-stix-common-objects, extension-definition-specifications/tlp-2.0).
const (
	MarkingTLP2Clear       = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
	MarkingTLP2Green       = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
	MarkingTLP2Amber       = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
	MarkingTLP2AmberStrict = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
	MarkingTLP2Red         = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
)

// The fixed ids of the TLP 1.0 marking definitions of the STIX 2.1 spec
// (section 7.2.1.4). TLP 1.0 has no AMBER+STRICT.
const (
	MarkingTLP1White = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"
	MarkingTLP1Green = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
	MarkingTLP1Amber = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
	MarkingTLP1Red   = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"
)

// Valid reports whether t is one of the five levels.
func (t TLP) Valid() bool { return TLPClear <= t && t <= TLPRed }

// String returns the label, such as "TLP:AMBER+STRICT".
func (t TLP) String() string {
	switch t {
	case TLPClear:
		return "TLP:CLEAR"
	case TLPGreen:
		return "TLP:GREEN"
	case TLPAmber:
		return "TLP:AMBER"
	case TLPAmberStrict:
		return "TLP:AMBER+STRICT"
	case TLPRed:
		return "TLP:RED"
	}
	return fmt.Sprintf("TLP(%d)", int(t))
}

// level is the lower-case name used by tlp_2_0, MISP tags and TLP 1.0.
func (t TLP) level() string {
	return strings.ToLower(strings.TrimPrefix(t.String(), "TLP:"))
}

// MarkingID returns the id of the OASIS TLP 2.0 marking definition for t,
// or "" if t is not a level.
func (t TLP) MarkingID() string {
	switch t {
	case TLPClear:
		return MarkingTLP2Clear
	case TLPGreen:
		return MarkingTLP2Green
	case TLPAmber:
		return MarkingTLP2Amber
	case TLPAmberStrict:
		return MarkingTLP2AmberStrict
	case TLPRed:
		return MarkingTLP2Red
	}
	return ""
}

// LegacyMarkingID returns the id of the TLP 1.0 marking definition of the
// STIX 2.1 spec for t, for consumers that know only those. AMBER+STRICT has
// none, and mapping it to AMBER would widen its audience, so it returns
// false.
func (t TLP) LegacyMarkingID() (string, bool) {
	switch t {
	case TLPClear:
		return MarkingTLP1White, true
	case TLPGreen:
		return MarkingTLP1Green, true
	case TLPAmber:
		return MarkingTLP1Amber, true
	case TLPRed:
		return MarkingTLP1Red, true
	}
	return "", false
}

// Marking returns the OASIS TLP 2.0 marking definition for t, to be shipped
// in a bundle beside the objects it marks. It returns nil if t is not a
// level.
func (t TLP) Marking() *MarkingDefinition {
	if !t.Valid() {
		return nil
	}
	ext, _ := json.Marshal(map[string]string{"extension_type": "property-extension", "tlp_2_0": t.level()})
	return &MarkingDefinition{
		Type:        TypeMarkingDefinition,
		SpecVersion: SpecVersion,
		ID:          t.MarkingID(),
		Created:     NewTimestamp(time.Date(2022, 10, 1, 0, 0, 0, 0, time.UTC)),
		Name:        t.String(),
		Extensions:  map[string]json.RawMessage{TLP2ExtensionID: ext},
	}
}

// MarshalText implements encoding.TextMarshaler, so levels read well in
// configuration files.
func (t TLP) MarshalText() ([]byte, error) {
	if !t.Valid() {
		return nil, fmt.Errorf("marshal %v: not a TLP level", t)
	}
	return []byte(t.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler; it accepts what
// ParseTLP does.
func (t *TLP) UnmarshalText(b []byte) error {
	v, err := ParseTLP(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// ParseTLP parses a TLP label in any of the usual spellings, ignoring case
// and surrounding space: "TLP:AMBER+STRICT", "tlp:amber+strict",
// "amber+strict". TLP 1.0's WHITE is read as CLEAR.
func ParseTLP(s string) (TLP, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	if rest, ok := strings.CutPrefix(v, "tlp:"); ok {
		v = strings.TrimSpace(rest)
	}
	switch v {
	case "clear", "white":
		return TLPClear, nil
	case "green":
		return TLPGreen, nil
	case "amber":
		return TLPAmber, nil
	case "amber+strict":
		return TLPAmberStrict, nil
	case "red":
		return TLPRed, nil
	}
	return 0, fmt.Errorf("parse TLP %q: not a TLP level", s)
}

// TLPFromMISPTag maps a MISP tag of the tlp taxonomy, such as
// "tlp:amber+strict" or the TLP 1.0 "tlp:white". Tags of other
// taxonomies, and tlp tags that are no level ("tlp:ex:chr",
// "tlp:unclear"), map to nothing.
func TLPFromMISPTag(tag string) (TLP, bool) {
	v := strings.TrimSpace(tag)
	if len(v) < 4 || !strings.EqualFold(v[:4], "tlp:") {
		return 0, false
	}
	t, err := ParseTLP(v)
	return t, err == nil
}

// TLPFromMarkingID maps the fixed id of a TLP 1.0 or TLP 2.0 marking
// definition to its level.
func TLPFromMarkingID(id string) (TLP, bool) {
	switch strings.ToLower(id) {
	case MarkingTLP2Clear, MarkingTLP1White:
		return TLPClear, true
	case MarkingTLP2Green, MarkingTLP1Green:
		return TLPGreen, true
	case MarkingTLP2Amber, MarkingTLP1Amber:
		return TLPAmber, true
	case MarkingTLP2AmberStrict:
		return TLPAmberStrict, true
	case MarkingTLP2Red, MarkingTLP1Red:
		return TLPRed, true
	}
	return 0, false
}

// TLPFromMarking returns the TLP level a marking definition expresses, in
// whichever encoding it uses:
//
//   - the fixed id of a TLP 1.0 or 2.0 marking (the id decides, whatever
//     the body says, so a feed cannot redefine TLP:RED as CLEAR);
//   - definition_type "tlp" with definition.tlp (TLP 1.0);
//   - the TLP 2.0 extension's tlp_2_0 property;
//   - OpenCTI's statement marking with x_opencti_definition_type "TLP" and
//     x_opencti_definition such as "TLP:AMBER+STRICT";
//   - failing those, a name that is exactly a TLP label.
func TLPFromMarking(m *MarkingDefinition) (TLP, bool) {
	if m == nil {
		return 0, false
	}
	if t, ok := TLPFromMarkingID(m.ID); ok {
		return t, true
	}
	if t, ok := tlpFromBody(m); ok {
		return t, true
	}
	if t, err := ParseTLP(m.Name); err == nil && strings.HasPrefix(strings.ToLower(strings.TrimSpace(m.Name)), "tlp:") {
		return t, true
	}
	return 0, false
}

// tlpFromBody reads the level from the content of a marking definition,
// ignoring its id and name.
func tlpFromBody(m *MarkingDefinition) (TLP, bool) {
	if m.DefinitionType == "tlp" {
		var d struct {
			TLP string `json:"tlp"`
		}
		if json.Unmarshal(m.Definition, &d) == nil {
			if t, err := ParseTLP(d.TLP); err == nil {
				return t, true
			}
		}
	}
	if raw, ok := m.Extensions[TLP2ExtensionID]; ok {
		var e struct {
			TLP string `json:"tlp_2_0"`
		}
		if json.Unmarshal(raw, &e) == nil {
			if t, err := ParseTLP(e.TLP); err == nil {
				return t, true
			}
		}
	}
	var kind, def string
	if json.Unmarshal(m.Custom["x_opencti_definition_type"], &kind) == nil && strings.EqualFold(kind, "TLP") &&
		json.Unmarshal(m.Custom["x_opencti_definition"], &def) == nil {
		if t, err := ParseTLP(def); err == nil {
			return t, true
		}
	}
	return 0, false
}

// MarkingIndex indexes the marking definitions among objs by id, for
// ObjectTLP.
func MarkingIndex(objs []Object) map[string]*MarkingDefinition {
	idx := make(map[string]*MarkingDefinition)
	for _, o := range objs {
		if m, ok := o.(*MarkingDefinition); ok {
			idx[m.ID] = m
		}
	}
	return idx
}

// ObjectTLP returns the most restrictive TLP level among the markings of
// obj, granular markings included (the strictest part decides who may see
// the whole), and MISP tlp: labels. A fixed TLP id counts at its level;
// any ref is also read by content from its definition in markings
// (MarkingLevel), so that a definition that says TLP:RED makes every
// object referencing it RED whatever its id. Refs without a definition
// that is TLP are ignored.
//
// If obj carries no TLP marking, ObjectTLP returns TLPRed and false. An
// unmarked object is not thereby CLEAR: a caller that ignores the flag
// fails closed, and one with a sharing policy substitutes its own default.
func ObjectTLP(obj Object, markings map[string]*MarkingDefinition) (level TLP, marked bool) {
	for _, ref := range obj.MarkingRefs() {
		if t, ok := TLPFromMarkingID(ref); ok && t > level {
			level, marked = t, true
		}
		if m := markings[ref]; m != nil {
			if t, ok := MarkingLevel(m); ok && t > level {
				level, marked = t, true
			}
		}
	}
	if l, ok := obj.(interface{ LabelList() []string }); ok {
		if t, ok := TLPFromLabels(l.LabelList()); ok && t > level {
			level, marked = t, true
		}
	}
	if !marked {
		return TLPRed, false
	}
	return level, true
}

// MarkingLevel returns the strictest TLP level a marking definition
// expresses anywhere: its fixed TLP id, its body in any of the encodings
// TLPFromMarking reads (the TLP 1.0 definition_type compared without
// case), a MISP statement that is a tlp tag ("tlp:red"), or a name that is
// a TLP label. Unlike TLPFromMarking it weighs them all, so that a body
// can make a marking stricter than its id but never laxer: a definition
// that says TLP:RED anywhere is RED, whatever its id.
func MarkingLevel(m *MarkingDefinition) (TLP, bool) {
	if m == nil {
		return 0, false
	}
	var level TLP
	if t, ok := TLPFromMarkingID(m.ID); ok {
		level = t
	}
	if t, ok := tlpFromBody(m); ok {
		level = max(level, t)
	}
	if strings.EqualFold(m.DefinitionType, "tlp") {
		var d struct {
			TLP string `json:"tlp"`
		}
		if json.Unmarshal(m.Definition, &d) == nil {
			if t, err := ParseTLP(d.TLP); err == nil {
				level = max(level, t)
			}
		}
	}
	if s, ok := m.Statement(); ok {
		if t, ok := TLPFromMISPTag(s); ok {
			level = max(level, t)
		}
	}
	if t, ok := TLPFromMISPTag(m.Name); ok {
		level = max(level, t)
	}
	return level, level != 0
}

// TLPFromLabels returns the strictest level among labels that are MISP
// tlp tags ("tlp:red"): MISP exports an event's tags as its objects'
// labels, markings included.
func TLPFromLabels(labels []string) (TLP, bool) {
	var level TLP
	for _, l := range labels {
		if t, ok := TLPFromMISPTag(l); ok {
			level = max(level, t)
		}
	}
	return level, level != 0
}
