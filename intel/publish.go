package intel

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
)

// Role is what an address is in the story a publication tells. Only
// the perpetrators' addresses become indicators: an indicator is what
// partners screen and block, and a victim's or an exchange's wallet
// flagged as malicious hurts the innocent (a partner flagged Bybit's own
// cold wallet as high risk when every address of the theft's list was
// published alike).
type Role string

// The roles.
const (
	// RoleThief is the perpetrator's own wallet: it took the funds
	// (theft, ransom, scam payments). An indicator of malicious activity.
	RoleThief Role = "thief"
	// RoleLaundering moves the proceeds on (split, peel, mixer or bridge
	// hops, cash-out accounts). An indicator of malicious activity.
	RoleLaundering Role = "laundering"
	// RoleSanctioned is a sanctioned party's wallet. An indicator of
	// malicious activity.
	RoleSanctioned Role = "sanctioned"
	// RoleVictim is the victim's wallet, the funds' origin. Never an
	// indicator: a note on the wallet, and the victim as an identity the
	// intrusion set targets when Publication.Victim names it.
	RoleVictim Role = "victim"
	// RoleService is a service's wallet (an exchange's hot wallet, a
	// bridge, a mixer's contract) the funds passed through. Not an
	// indicator: a note on the wallet, labelled as a service's.
	RoleService Role = "service"
)

// roleWords are the words a role column may start with.
var roleWords = map[string]Role{
	"thief": RoleThief, "attacker": RoleThief, "laundering": RoleLaundering, "sanctioned": RoleSanctioned,
	"victim": RoleVictim, "service": RoleService,
}

// Indicates reports whether addresses of the role become indicators.
func (r Role) Indicates() bool {
	return r == RoleThief || r == RoleLaundering || r == RoleSanctioned
}

// ParseRole reads a role from text whose first word names it ("victim
// cold wallet (Safe multisig)", "attacker split wallet: ..."; attacker
// is the thief) and returns the rest as a note.
func ParseRole(s string) (Role, string, error) {
	s = strings.TrimSpace(s)
	word, rest, _ := strings.Cut(s, " ")
	word = strings.TrimRight(word, ":,;.")
	r, ok := roleWords[strings.ToLower(word)]
	if !ok {
		return "", "", fmt.Errorf("role %q: want victim, thief (or attacker), laundering, sanctioned or service first", s)
	}
	return r, clean(strings.TrimLeft(strings.TrimSpace(rest), ":,;-– ")), nil
}

// clean collapses runs of white space (line breaks included) to a space.
func clean(s string) string { return strings.Join(strings.Fields(s), " ") }

// Listed is one address to publish.
type Listed struct {
	Chain   string // btc, eth, ...: kept as a label, since the pattern names only the value
	Address string
	Role    Role
	// Note says more in words: "split wallet: funds moved out", "cold
	// wallet (Safe multisig)".
	Note string
}

// ReadListed reads addresses from a CSV with a header naming an
// "address" column and optional "chain", "role" and "note" (or
// "description") columns. A role cell starts with the role (see
// ParseRole); what follows it goes before the note. A file without a role
// column takes def for every address; with neither, or with a role it
// does not know, it is an error naming the line. name names the input in
// errors.
func ReadListed(r io.Reader, name string, def Role) ([]Listed, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	ai, ok := col["address"]
	if !ok {
		return nil, fmt.Errorf("%s:1: no address column in the header %q", name, strings.Join(head, ","))
	}
	ri, hasRole := col["role"]
	if !hasRole && def == "" {
		return nil, fmt.Errorf("%s:1: no role column: say of each address whether it is the victim's, the thief's, a laundering wallet, a sanctioned party's or a service's", name)
	}
	if def != "" && !def.valid() {
		return nil, fmt.Errorf("%s: default role %q: want victim, thief, laundering, sanctioned or service", name, def)
	}
	ni, hasNote := col["note"]
	if !hasNote {
		ni, hasNote = col["description"]
	}
	get := func(row []string, i int, has bool) string {
		if has && i < len(row) {
			return strings.TrimSpace(row[i])
		}
		return ""
	}
	var out []Listed
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		a := get(row, ai, true)
		if a == "" {
			continue
		}
		if strings.ContainsFunc(a, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
			return nil, fmt.Errorf("%s:%d: address %q holds white space", name, line, a)
		}
		l := Listed{Address: a, Chain: clean(get(row, col["chain"], hasCol(col, "chain"))), Role: def, Note: clean(get(row, ni, hasNote))}
		if cell := get(row, ri, hasRole); cell != "" || def == "" {
			role, rest, err := ParseRole(cell)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: address %s: %w", name, line, a, err)
			}
			l.Role = role
			if rest != "" && l.Note != "" {
				l.Note = rest + "; " + l.Note
			} else if rest != "" {
				l.Note = rest
			}
		}
		out = append(out, l)
	}
}

func hasCol(col map[string]int, name string) bool { _, ok := col[name]; return ok }

func (r Role) valid() bool { _, ok := roleWords[string(r)]; return ok }

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
	Incident string
	// Victim, if set, names the victim (e.g. "Bybit"): an identity that
	// the intrusion set targets, which the notes on its wallets name.
	Victim    string
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
// TLP marking, an incident, an intrusion set and the victim if named, one
// wallet observable per address, and what its role makes of it: for the
// perpetrators' wallets (thief, laundering, sanctioned) an indicator
// (malicious-activity, pattern [cryptocurrency-wallet:value = '...'],
// labelled role:...) that indicates the intrusion set and is related to
// the incident; for victims' and services' wallets a note (labelled
// role:victim or role:service) that says what the wallet is and that it
// is not malicious, and no indicator, so that no partner screens it; the
// intrusion set targets the victim. A report holds them all. Every
// object carries the marking and names the creator. An address without a
// known role is an error.
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
	var victimID string
	if p.Victim != "" {
		vi := &Identity{Common: common(TypeIdentity, "victim"), Name: p.Victim, IdentityClass: "organization", Roles: []string{"victim"}}
		victimID = vi.ID
		objs = append(objs, vi)
		refs = append(refs, vi.ID)
		if actorID != "" {
			r := &Relationship{Common: common(TypeRelationship, "targets "+victimID), RelationshipType: "targets", SourceRef: actorID, TargetRef: victimID}
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
		if !a.Role.valid() {
			return nil, fmt.Errorf("publish: address %s: role %q: want victim, thief, laundering, sanctioned or service", v, a.Role)
		}
		if strings.ContainsAny(v, "'\\\n") {
			return nil, fmt.Errorf("publish: address %q cannot be written in a pattern", v)
		}
		seen[v] = true
		w := NewWallet(v)
		w.ObjectMarkingRefs = []string{marking.ID}
		labels := []string{"role:" + string(a.Role)}
		if a.Chain != "" {
			labels = append(labels, "chain:"+strings.ToLower(a.Chain))
		}
		objs = append(objs, w)
		refs = append(refs, w.ID)
		if !a.Role.Indicates() {
			n := &Note{Common: common(TypeNote, v), Abstract: roleAbstract[a.Role], Content: noteContent(a, v, p.Victim), ObjectRefs: []string{w.ID}}
			n.Labels = labels
			if victimID != "" && a.Role == RoleVictim {
				n.ObjectRefs = append(n.ObjectRefs, victimID)
			}
			if incidentID != "" {
				n.ObjectRefs = append(n.ObjectRefs, incidentID)
			}
			objs = append(objs, n)
			refs = append(refs, n.ID)
			continue
		}
		desc := a.Note
		if desc == "" {
			desc = roleAbstract[a.Role]
		}
		ind := &Indicator{Common: common(TypeIndicator, v), Name: strings.TrimSpace(a.Chain + " wallet " + v),
			Description: desc, IndicatorTypes: []string{"malicious-activity"},
			Pattern: "[cryptocurrency-wallet:value = '" + v + "']", PatternType: "stix", PatternVersion: "2.1", ValidFrom: NewTimestamp(p.Now.Truncate(time.Millisecond))}
		ind.Labels = labels
		objs = append(objs, ind)
		refs = append(refs, ind.ID)
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

// roleAbstract says in a line what a role's wallet is.
var roleAbstract = map[Role]string{
	RoleThief:      "The perpetrator's wallet",
	RoleLaundering: "A wallet that launders the proceeds",
	RoleSanctioned: "A sanctioned party's wallet",
	RoleVictim:     "The victim's wallet: not an indicator",
	RoleService:    "A service's wallet: not an indicator",
}

// noteContent is the text of a note on a victim's or a service's wallet.
func noteContent(a Listed, v, victim string) string {
	var b strings.Builder
	b.WriteString(v)
	if a.Chain != "" {
		fmt.Fprintf(&b, " (%s)", strings.ToLower(a.Chain))
	}
	switch a.Role {
	case RoleVictim:
		b.WriteString(" is the victim's wallet")
		if victim != "" {
			b.WriteString(", " + victim + "'s")
		}
		if a.Note != "" {
			b.WriteString(": " + a.Note)
		}
		b.WriteString(". Funds were taken from it: it is not an indicator of malicious activity; do not block or flag it as such.")
	case RoleService:
		b.WriteString(" belongs to a service")
		if a.Note != "" {
			b.WriteString(": " + a.Note)
		}
		b.WriteString(". Funds of the incident passed through it; the service is not malicious, and the wallet is not an indicator.")
	}
	return b.String()
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
