package taxii

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/intel"
)

// Who may write what. Every object id has an owner, the principal that
// first wrote it in any collection: a partner (its key's name, or a peer's
// name for objects pulled from it) or the node (LocalPartner: its own
// producers and the keys that act for it). Only the owner adds versions,
// and so revokes; only the owner or an administrator deletes. A partner
// that leaves out created_by_ref gains nothing by it: ownership follows
// the key, not the claim, and the object is kept as sent, owned by the
// partner. Each identity id is bound to the first principal that claims
// it (by posting the identity, or naming it in created_by_ref), and the
// node's own identity to the node; an object claiming an identity bound
// to another principal is refused as forged. The node's own producers
// (AddObjects) claim no identity: they relay what others made. Observables, which have no
// versions, may be sent by anyone and never change once stored; the fixed
// TLP marking definitions are nobody's.

// actsForNode is the default of Config.ActsForNode.
func actsForNode(ctx context.Context) bool {
	k := auth.KeyFrom(ctx)
	return k != nil && k.Has(auth.RoleTAXIIPublish)
}

// isAdmin is the default of Config.IsAdmin.
func isAdmin(ctx context.Context) bool {
	k := auth.KeyFrom(ctx)
	return k != nil && k.Has(auth.RoleAdmin)
}

// principal is who owns what a request writes.
func (s *Server) principal(ctx context.Context, partner string) string {
	if s.cfg.ActsForNode(ctx) {
		return LocalPartner
	}
	return partner
}

// nodeIdentity returns the node's identity id in canonical form, or "".
func (s *Server) nodeIdentity(ctx context.Context) (string, error) {
	if s.cfg.NodeIdentity == nil {
		return "", nil
	}
	id, err := s.cfg.NodeIdentity(ctx)
	if err != nil || id == "" {
		return "", err
	}
	c, err := intel.CanonicalID(id)
	if err != nil {
		return "", fmt.Errorf("node identity: %w", err)
	}
	return c, nil
}

// candidate is an object of an add request that passed the format
// checks, with the identities it claims.
type candidate struct {
	index  int
	obj    Object
	claims []string
}

// claimsOf lists the identity ids an object claims: its creator, and its
// own id if it is an identity.
func claimsOf(o Object, creator string) []string {
	var out []string
	if creator != "" {
		out = append(out, creator)
	}
	if o.Type == intel.TypeIdentity {
		if id, err := intel.CanonicalID(o.ID); err == nil && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// fixedTLP reports whether o is one of the fixed TLP 1.0 and 2.0 marking
// definitions, whose level its id decides and which belong to nobody.
func fixedTLP(o Object) bool {
	_, ok := intel.TLPFromMarkingID(o.ID)
	return ok && o.Type == intel.TypeMarkingDefinition
}

// checkClock refuses a version dated beyond the clock's skew: the newest
// version is the current one, and one dated years ahead would stay
// current whatever followed.
func (s *Server) checkClock(o Object, now time.Time) error {
	if o.Versioned() && o.Version.After(now.Add(s.cfg.MaxClockSkew)) {
		return fmt.Errorf("version %s is in the future: more than %s ahead of this node's clock", FormatTimestamp(o.Version), s.cfg.MaxClockSkew)
	}
	return nil
}

// vet applies the ownership and identity rules to the candidates of one
// request by principal, holding the write lock, and returns the objects
// to store with Owner and Claims set, and the candidates' indexes of
// them. Refusals go to fail.
func (s *Server) vet(ctx context.Context, collection, principal string, cands []candidate, fail func(i int, o Object, err error)) ([]Object, []int, error) {
	me, err := s.nodeIdentity(ctx)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, 0, len(cands))
	var claimed []string
	for _, c := range cands {
		ids = append(ids, c.obj.ID)
		claimed = append(claimed, c.claims...)
	}
	if me != "" {
		claimed = append(claimed, me)
	}
	owners, err := s.cfg.Store.TAXIIOwners(ctx, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("owners: %w", err)
	}
	bound, err := s.cfg.Store.TAXIIIdentities(ctx, claimed)
	if err != nil {
		return nil, nil, fmt.Errorf("identities: %w", err)
	}
	if me != "" && bound[me] != LocalPartner {
		if err := s.cfg.Store.BindTAXIIIdentity(ctx, me, LocalPartner); err != nil {
			return nil, nil, fmt.Errorf("bind the node's identity: %w", err)
		}
		bound[me] = LocalPartner
	}
	// The stored versions of ids without an owner (stored before owners
	// were kept: the node's) and of revoked ids (a version sent again is
	// no new version), in one query.
	var look []string
	for _, c := range cands {
		if own, ok := owners[ownerKey(c.obj.ID)]; !ok || own.Revoked {
			look = append(look, c.obj.ID)
		}
	}
	look = uniqueIDs(look)
	stored := map[string][]time.Time{}
	if len(look) > 0 {
		p, err := s.cfg.Store.TAXIIObjects(ctx, collection, Filter{IDs: look, Versions: VersionFilter{All: true}}, 1<<30)
		if err != nil {
			return nil, nil, fmt.Errorf("stored versions: %w", err)
		}
		for _, o := range p.Objects {
			k := ownerKey(o.ID)
			stored[k] = append(stored[k], o.Version)
			if _, ok := owners[k]; !ok {
				owners[k] = Ownership{Owner: LocalPartner}
			}
			if o.Revoked {
				own := owners[k]
				own.Revoked = true
				owners[k] = own
			}
		}
	}

	good := make([]Object, 0, len(cands))
	kept := make([]int, 0, len(cands))
	for _, c := range cands {
		o := c.obj
		if fixedTLP(o) {
			good = append(good, o)
			kept = append(kept, c.index)
			continue
		}
		if err := s.checkClaims(o, c.claims, principal, me, bound); err != nil {
			fail(c.index, o, err)
			continue
		}
		k := ownerKey(o.ID)
		own, owned := owners[k]
		if o.Versioned() && owned {
			if own.Owner != principal {
				fail(c.index, o, fmt.Errorf("not yours: %s was written by another partner, and only its writer adds versions", o.ID))
				continue
			}
			if own.Revoked && !slices.ContainsFunc(stored[k], o.Version.Equal) {
				fail(c.index, o, fmt.Errorf("%s is revoked, and a revoked object takes no new version", o.ID))
				continue
			}
		}
		o.Owner = principal
		for _, id := range c.claims {
			if bound[id] == "" {
				o.Claims = append(o.Claims, id)
				bound[id] = principal
			}
		}
		if !owned {
			own.Owner = principal
		}
		own.Revoked = own.Revoked || o.Revoked
		owners[k] = own
		good = append(good, o)
		kept = append(kept, c.index)
	}
	return good, kept, nil
}

// checkClaims refuses an object claiming an identity bound to another
// principal.
func (s *Server) checkClaims(o Object, claims []string, principal, me string, bound map[string]string) error {
	for _, id := range claims {
		p := bound[id]
		if id == me {
			p = LocalPartner
		}
		if p != "" && p != principal {
			return fmt.Errorf("forged: identity %s belongs to another partner", id)
		}
	}
	return nil
}

// markingLevels caches the TLP level each marking-definition id stored in
// any collection says by its content, the strictest of its versions and
// copies: a definition that says TLP:RED makes RED every object that
// refers to its id, whatever the id.
type markingLevels struct {
	mu     sync.RWMutex
	loaded bool
	levels map[string]intel.TLP // by ownerKey
}

// load reads every marking definition stored, once.
func (m *markingLevels) load(ctx context.Context, st Store) error {
	m.mu.RLock()
	loaded := m.loaded
	m.mu.RUnlock()
	if loaded {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.loaded {
		return nil
	}
	colls, err := st.TAXIICollections(ctx)
	if err != nil {
		return fmt.Errorf("marking definitions: %w", err)
	}
	levels := map[string]intel.TLP{}
	for _, c := range colls {
		f := Filter{Types: []string{intel.TypeMarkingDefinition}, Versions: VersionFilter{All: true}}
		for {
			p, err := st.TAXIIObjects(ctx, c.ID, f, DefaultPageSize)
			if err != nil {
				return fmt.Errorf("marking definitions of %s: %w", c.ID, err)
			}
			for _, o := range p.Objects {
				noteLevel(levels, o)
			}
			if !p.More || len(p.Objects) == 0 {
				break
			}
			f.AddedAfter = p.Objects[len(p.Objects)-1].DateAdded
		}
	}
	m.levels, m.loaded = levels, true
	return nil
}

// noteLevel records what a stored marking definition says.
func noteLevel(levels map[string]intel.TLP, o Object) {
	if o.Type != intel.TypeMarkingDefinition {
		return
	}
	var md intel.MarkingDefinition
	if json.Unmarshal(o.Raw, &md) != nil {
		return
	}
	if l, ok := intel.MarkingLevel(&md); ok {
		k := ownerKey(o.ID)
		levels[k] = max(levels[k], l)
	}
}

// added records the marking definitions among objects just stored.
func (m *markingLevels) added(objs []Object) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.loaded {
		return
	}
	for _, o := range objs {
		noteLevel(m.levels, o)
	}
}

// forget makes the next use read the definitions again: one was deleted.
func (m *markingLevels) forget() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loaded, m.levels = false, nil
}

// level returns the level of a marking id: its fixed TLP level or what
// stored definitions of it say, the stricter.
func (s *Server) level(ctx context.Context, ref string) (intel.TLP, bool, error) {
	if err := s.markings.load(ctx, s.cfg.Store); err != nil {
		return 0, false, err
	}
	l, _ := intel.TLPFromMarkingID(ref)
	s.markings.mu.RLock()
	l = max(l, s.markings.levels[ownerKey(ref)])
	s.markings.mu.RUnlock()
	return l, l != 0, nil
}

// effective returns o with its markings made plain for the policy: each
// marking whose level the node knows, by its id or by a stored definition,
// is joined by the fixed TLP 2.0 id of that level, and so are MISP tlp
// labels and, for a marking definition that says TLP:RED, RED itself (a
// RED definition is not served). Policies then need only the fixed ids.
func (s *Server) effective(ctx context.Context, o Object) (Object, error) {
	var extra []string
	note := func(l intel.TLP) {
		if id := l.MarkingID(); id != "" && !slices.Contains(o.Markings, id) && !slices.Contains(extra, id) {
			extra = append(extra, id)
		}
	}
	for _, ref := range o.Markings {
		l, ok, err := s.level(ctx, ref)
		if err != nil {
			return o, err
		}
		if ok {
			note(l)
		}
	}
	if bytes.Contains(o.Raw, []byte(`"labels"`)) {
		var h struct {
			Labels []string `json:"labels"`
		}
		// Labels of the wrong form carry no tag.
		if json.Unmarshal(o.Raw, &h) == nil {
			if l, ok := intel.TLPFromLabels(h.Labels); ok {
				note(l)
			}
		}
	}
	if o.Type == intel.TypeMarkingDefinition {
		l, _, err := s.level(ctx, o.ID)
		if err != nil {
			return o, err
		}
		var md intel.MarkingDefinition
		if json.Unmarshal(o.Raw, &md) == nil {
			own, _ := intel.MarkingLevel(&md)
			l = max(l, own)
		}
		if l == intel.TLPRed {
			note(intel.TLPRed)
		}
	}
	if len(extra) > 0 {
		o.Markings = append(slices.Clip(o.Markings), extra...)
	}
	return o, nil
}

// decide returns an object as partner may receive it, with the
// properties withheld that its granular markings keep from it, and
// false if it is withheld whole.
func (s *Server) decide(ctx context.Context, partner string, c Collection, o Object) (Object, bool, error) {
	v, err := s.effective(ctx, o)
	if err != nil {
		return o, false, err
	}
	if !s.policy.Allow(ctx, partner, c, v) {
		return o, false, nil
	}
	if !bytes.Contains(o.Raw, []byte(`"granular_markings"`)) {
		return v, true, nil
	}
	return s.redact(ctx, partner, c, v)
}

// redact withholds the properties that granular markings mark beyond
// what partner may see: the whole property a selector starts at (a part
// of a list or object is withheld with all of it). Where the object would
// not stand without the property, or its markings would change meaning,
// the object is withheld whole.
func (s *Server) redact(ctx context.Context, partner string, c Collection, o Object) (Object, bool, error) {
	var g struct {
		Granular []json.RawMessage `json:"granular_markings"`
	}
	if err := json.Unmarshal(o.Raw, &g); err != nil {
		// Not a list of markings: nothing can say what they cover.
		return o, false, nil
	}
	withhold := map[string]bool{}
	keep := make([]json.RawMessage, 0, len(g.Granular))
	for _, raw := range g.Granular {
		var gm intel.GranularMarking
		if err := json.Unmarshal(raw, &gm); err != nil {
			return o, false, nil
		}
		l, ok, err := s.level(ctx, gm.MarkingRef)
		if err != nil {
			return o, false, err
		}
		if gm.MarkingRef == "" || !ok {
			keep = append(keep, raw)
			continue
		}
		probe := o
		probe.Markings = []string{l.MarkingID()}
		if s.policy.Allow(ctx, partner, c, probe) {
			keep = append(keep, raw)
			continue
		}
		for _, sel := range gm.Selectors {
			p := topProperty(sel)
			if essential(o.Type, p) {
				return o, false, nil
			}
			withhold[p] = true
		}
	}
	if len(withhold) == 0 {
		return o, true, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(o.Raw, &m); err != nil {
		return o, false, nil
	}
	for p := range withhold {
		delete(m, p)
	}
	// Markings that are kept lose the selectors of withheld properties,
	// so that nothing names what was taken out.
	var kept []json.RawMessage
	for _, raw := range keep {
		var gm intel.GranularMarking
		_ = json.Unmarshal(raw, &gm)
		sels := slices.DeleteFunc(slices.Clone(gm.Selectors), func(sel string) bool { return withhold[topProperty(sel)] })
		switch {
		case len(sels) == len(gm.Selectors):
			kept = append(kept, raw)
		case len(sels) > 0:
			gm.Selectors = sels
			b, err := json.Marshal(gm)
			if err != nil {
				return o, false, err
			}
			kept = append(kept, b)
		}
	}
	if len(kept) == 0 {
		delete(m, "granular_markings")
	} else {
		b, err := json.Marshal(kept)
		if err != nil {
			return o, false, err
		}
		m["granular_markings"] = b
	}
	b, err := json.Marshal(m)
	if err != nil {
		return o, false, err
	}
	o.Raw = b
	return o, true, nil
}

// topProperty is the property a granular marking selector starts at:
// "external_references.[0].url" selects within external_references.
func topProperty(sel string) string {
	if i := strings.IndexAny(sel, ".["); i >= 0 {
		return sel[:i]
	}
	return sel
}

// essential reports whether an object of type typ cannot be served
// without property p: what identifies and versions it, what says how it
// is marked, revoked or made, and what STIX 2.1 requires of its type.
func essential(typ, p string) bool {
	switch p {
	case "type", "id", "spec_version", "created", "modified", "revoked", "created_by_ref",
		"object_marking_refs", "granular_markings", "labels", "extensions", "defanged":
		return true
	}
	switch typ {
	case "attack-pattern", "campaign", "course-of-action", "identity", "incident", "infrastructure",
		"intrusion-set", "threat-actor", "tool", "vulnerability":
		return p == "name"
	case "indicator":
		return p == "pattern" || p == "pattern_type" || p == "valid_from" || p == "pattern_version"
	case "grouping":
		return p == "context" || p == "object_refs"
	case "location":
		return p == "region" || p == "country" || p == "latitude" || p == "longitude"
	case "malware":
		return p == "is_family"
	case "malware-analysis":
		return p == "product" || p == "result" || p == "analysis_sco_refs"
	case "note":
		return p == "content" || p == "object_refs"
	case "observed-data":
		return p == "first_observed" || p == "last_observed" || p == "number_observed" || p == "object_refs"
	case "opinion":
		return p == "opinion" || p == "object_refs"
	case "report":
		return p == "name" || p == "published" || p == "object_refs"
	case "relationship":
		return p == "relationship_type" || p == "source_ref" || p == "target_ref"
	case "sighting":
		return p == "sighting_of_ref"
	case "marking-definition":
		return p == "definition_type" || p == "definition" || p == "name"
	case "language-content":
		return p == "object_ref" || p == "object_modified" || p == "contents"
	case "extension-definition":
		return p == "name" || p == "schema" || p == "version" || p == "extension_types"
	}
	// Observables: what their deterministic ids are made of.
	return p == "value" || p == "hashes" || p == "name" || p == "number" || p == "key" || p == "path"
}

// Bounds of a status's details, so that a request of many bad objects
// cannot make a large status.
const (
	// MaxStatusMessage is the most bytes of a failure's message kept.
	MaxStatusMessage = 512
	// maxStatusID is the most bytes of an id kept in a status: no STIX
	// id is longer (a type of 250 bytes, two hyphens and a UUID).
	maxStatusID = 288
)

// truncate cuts s to at most n bytes on a character boundary, marking
// the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const more = "..."
	cut := n - len(more)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + more
}

// note adds a detail to a status list, counting it always and keeping it
// while the list has room.
func (s *Server) note(list *[]StatusDetail, d StatusDetail) {
	if len(*list) >= s.cfg.StatusDetails {
		return
	}
	d.ID, d.Message = truncate(d.ID, maxStatusID), truncate(d.Message, MaxStatusMessage)
	*list = append(*list, d)
}
