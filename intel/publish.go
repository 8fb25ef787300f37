package intel

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Listed is one address to publish.
type Listed struct {
	Chain   string // btc, eth, ...: kept as a label, since the pattern names only the value
	Address string
	Role    string // "attacker direct theft", "split wallet", "deposit address" ...
}

// Publication describes a report to publish: who says it, about what,
// under which TLP marking.
type Publication struct {
	Creator     *Identity
	Name        string
	Description string
	TLP         TLP
	// Actor, if set, is the intrusion set the addresses are attributed to
	// (e.g. "Lazarus Group"), with its aliases.
	Actor        string
	ActorAliases []string
	// Incident, if set, names the incident the report is about.
	Incident  string
	Addresses []Listed
	Now       time.Time
	// Key, if set, makes the ids deterministic: each object's id is
	// derived from the creator, Key and the object's place in the
	// publication, so that publishing under the same key again makes new
	// versions of the same objects (a later sighting updating an
	// indicator) rather than new objects partners would count twice.
	Key string
	// Created is when the objects were first published, kept by every
	// later version as STIX versioning requires; zero means Now. It
	// matters only with Key.
	Created time.Time
}

// Publish builds the objects of a publication: the creator identity, the
// TLP marking, an incident and an intrusion set if named, one wallet
// observable and one indicator per address (pattern
// [cryptocurrency-wallet:value = '...']), relationships (an indicator
// indicates the intrusion set; indicators and intrusion set are related to
// the incident), and the report that holds them all. Every object carries
// the marking and names the creator.
func Publish(p Publication) ([]Object, error) {
	if p.Creator == nil {
		return nil, errors.New("publish: no creator identity")
	}
	if !p.TLP.Valid() {
		return nil, fmt.Errorf("publish: invalid TLP %q", p.TLP)
	}
	if len(p.Addresses) == 0 {
		return nil, errors.New("publish: no addresses")
	}
	if strings.ContainsRune(p.Key, 0) {
		return nil, errors.New("publish: the key holds a NUL")
	}
	if p.Now.IsZero() {
		p.Now = time.Now()
	}
	if p.Created.IsZero() || p.Created.After(p.Now) {
		p.Created = p.Now
	}
	marking := p.TLP.Marking()
	// part names an object within the publication, for its id under Key.
	common := func(typ, part string) Common {
		c := newCommon(typ, p.Now)
		if p.Key != "" {
			c.ID = publicationID(p.Creator.ID, p.Key, typ, part)
			c.Created = NewTimestamp(p.Created.Truncate(time.Millisecond))
		}
		c.CreatedByRef = p.Creator.ID
		c.ObjectMarkingRefs = []string{marking.ID}
		return c
	}
	objs := []Object{p.Creator, marking}
	var refs []string
	var actorID, incidentID string
	if p.Actor != "" {
		is := &IntrusionSet{Common: common(TypeIntrusionSet, ""), Name: p.Actor, Aliases: p.ActorAliases}
		actorID = is.ID
		objs = append(objs, is)
		refs = append(refs, is.ID)
	}
	if p.Incident != "" {
		in := &Incident{Common: common(TypeIncident, ""), Name: p.Incident}
		incidentID = in.ID
		objs = append(objs, in)
		refs = append(refs, in.ID)
		if actorID != "" {
			// STIX 2.1 leaves incident's relationships open: related-to.
			r := &Relationship{Common: common(TypeRelationship, "related-to "+actorID), RelationshipType: "related-to", SourceRef: incidentID, TargetRef: actorID}
			objs = append(objs, r)
			refs = append(refs, r.ID)
		}
	}
	seen := make(map[string]bool)
	for _, a := range p.Addresses {
		v := strings.TrimSpace(a.Address)
		if v == "" || seen[v] {
			continue
		}
		if strings.ContainsAny(v, "'\\\n") {
			return nil, fmt.Errorf("publish: address %q cannot be written in a pattern", v)
		}
		seen[v] = true
		w := NewWallet(v)
		w.ObjectMarkingRefs = []string{marking.ID}
		ind := &Indicator{Common: common(TypeIndicator, v), Name: strings.TrimSpace(a.Chain + " wallet " + v),
			Description: a.Role, IndicatorTypes: []string{"malicious-activity"},
			Pattern: "[cryptocurrency-wallet:value = '" + v + "']", PatternType: "stix", PatternVersion: "2.1", ValidFrom: NewTimestamp(p.Now.Truncate(time.Millisecond))}
		if a.Chain != "" {
			ind.Labels = []string{"chain:" + strings.ToLower(a.Chain)}
		}
		objs = append(objs, w, ind)
		refs = append(refs, w.ID, ind.ID)
		for _, rel := range []struct{ typ, target string }{{"indicates", actorID}, {"related-to", incidentID}} {
			if rel.target == "" {
				continue
			}
			r := &Relationship{Common: common(TypeRelationship, rel.typ+" "+v), RelationshipType: rel.typ, SourceRef: ind.ID, TargetRef: rel.target}
			objs = append(objs, r)
			refs = append(refs, r.ID)
		}
	}
	rep := &Report{Common: common(TypeReport, ""), Name: p.Name, Description: p.Description, ReportTypes: []string{"threat-actor", "indicator"},
		Published: NewTimestamp(p.Now.Truncate(time.Millisecond)), ObjectRefs: refs}
	objs = append(objs, rep)
	for _, o := range objs {
		if err := Validate(o); err != nil {
			return nil, fmt.Errorf("publish: %w", err)
		}
	}
	return objs, nil
}

// publicationNamespace is tracehound's UUIDv5 namespace for the objects
// of keyed publications (a UUIDv5 of "tracehound publication" in the URL
// namespace).
var publicationNamespace = string(func() []byte {
	u := uuidV5("\x6b\xa7\xb8\x11\x9d\xad\x11\xd1\x80\xb4\x00\xc0\x4f\xd4\x30\xc8", "tracehound publication")
	return u[:]
}())

// publicationID is the id of the object of type typ, named part, in the
// publication keyed key by creator. The fields are NUL-separated, which
// none of them holds, so that no two tuples give the same name.
func publicationID(creator, key, typ, part string) string {
	return typ + "--" + formatUUID(uuidV5(publicationNamespace, creator+"\x00"+key+"\x00"+typ+"\x00"+part))
}
