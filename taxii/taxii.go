// Package taxii shares threat intelligence with partner nodes over TAXII
// 2.1 (OASIS Standard, 10 June 2021): a server whose collections carry
// per-partner access lists and whose every served object passes a TLP
// policy and is audited, a client for other nodes, and a poller that pulls
// a partner's collection from a persisted cursor.
//
// Objects are STIX 2.1 JSON kept as received; the package reads only the
// common properties it needs (type, id, spec_version, created, modified,
// object_marking_refs).
package taxii

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Media types of TAXII 2.1 resources and of the STIX 2.1 objects in them.
const (
	MediaType     = "application/taxii+json;version=2.1"
	StixMediaType = "application/stix+json;version=2.1"
)

// Everyone in a collection's CanRead or CanWrite grants access to every
// authenticated partner.
const Everyone = "*"

// Collection is a set of objects shared with named partners.
type Collection struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Alias       string `json:"alias,omitempty"`
	// CanRead and CanWrite name the partners (API key names) allowed to
	// read and add objects; Everyone allows all.
	CanRead  []string `json:"can_read,omitempty"`
	CanWrite []string `json:"can_write,omitempty"`
}

// Validate checks what the stores rely on: the id is part of their keys.
func (c Collection) Validate() error {
	switch {
	case c.ID == "":
		return errors.New("collection: an id is required")
	case len(c.ID) > 256:
		return fmt.Errorf("collection %.32q...: the id is longer than 256 bytes", c.ID)
	case strings.ContainsAny(c.ID, "\x00/?#"):
		return fmt.Errorf("collection %q: the id must not contain NUL, '/', '?' or '#'", c.ID)
	case c.Title == "":
		return fmt.Errorf("collection %q: a title is required", c.ID)
	}
	return nil
}

// CanBeReadBy reports whether partner may read the collection.
func (c Collection) CanBeReadBy(partner string) bool {
	return partner != "" && (slices.Contains(c.CanRead, partner) || slices.Contains(c.CanRead, Everyone))
}

// CanBeWrittenBy reports whether partner may add to the collection.
func (c Collection) CanBeWrittenBy(partner string) bool {
	return partner != "" && (slices.Contains(c.CanWrite, partner) || slices.Contains(c.CanWrite, Everyone))
}

// NamesReader reports whether partner is named in CanRead itself, not
// only admitted by Everyone: TLP:AMBER goes to named partners only.
func (c Collection) NamesReader(partner string) bool {
	return partner != "" && partner != Everyone && slices.Contains(c.CanRead, partner)
}

// Object is one version of a STIX object as stored in a collection.
type Object struct {
	ID          string
	Type        string
	SpecVersion string
	// Created and Modified are zero when the object lacks them (SCOs).
	Created  time.Time
	Modified time.Time
	// Version identifies this version: Modified, else Created, else
	// DateAdded (set by the server for objects that have neither).
	Version time.Time
	// DateAdded is when this server added this version; it is unique
	// within a collection and orders it.
	DateAdded time.Time
	// Markings are the object_marking_refs.
	Markings []string
	// Revoked is the version's revoked property.
	Revoked bool
	// Raw is the object's JSON, compacted.
	Raw []byte

	// Owner and Claims are set by the server for AddTAXIIObjects and are
	// not read back. Owner is the principal writing the version (a
	// partner's name, or LocalPartner for the node); Claims are the
	// identity ids, in canonical form, that the version binds to it.
	Owner  string
	Claims []string

	// parsed is the head the object was decoded with, kept by the client
	// so that a server storing what was pulled (AddPulledFrom) checks it
	// without decoding its JSON again.
	parsed *head
}

// Versioned reports whether the object carries its own version
// (modified or created). Objects without one, such as SCOs, are
// immutable: adding one again is a no-op.
func (o Object) Versioned() bool { return !o.Created.IsZero() || !o.Modified.IsZero() }

// VersionFilter selects versions of each object, as match[version]
// does. The zero value selects the last version.
type VersionFilter struct {
	All, First, Last bool
	// At selects the versions with exactly these timestamps.
	At []time.Time
}

// IsZero reports whether no version was asked for (meaning the last).
func (v VersionFilter) IsZero() bool { return !v.All && !v.First && !v.Last && len(v.At) == 0 }

// OnlyLast reports whether the filter selects the last versions only,
// the common case that stores serve from an index.
func (v VersionFilter) OnlyLast() bool {
	return v.IsZero() || (v.Last && !v.All && !v.First && len(v.At) == 0)
}

// Match reports whether a version passes, given whether it is the
// object's first and last. Stores call it for the general case.
func (v VersionFilter) Match(version time.Time, first, last bool) bool {
	if v.IsZero() {
		return last
	}
	if v.All || (v.First && first) || (v.Last && last) {
		return true
	}
	return slices.ContainsFunc(v.At, version.Equal)
}

// ParseVersionFilter reads the values of match[version]: "last",
// "first", "all" or timestamps.
func ParseVersionFilter(values []string) (VersionFilter, error) {
	var v VersionFilter
	for _, s := range values {
		switch s {
		case "all":
			v.All = true
		case "first":
			v.First = true
		case "last":
			v.Last = true
		default:
			t, err := ParseTimestamp(s)
			if err != nil {
				return VersionFilter{}, fmt.Errorf("match[version] %q: want last, first, all or a timestamp", s)
			}
			v.At = append(v.At, t)
		}
	}
	return v, nil
}

// Filter selects objects as a query's match[...] and added_after do.
// Empty lists select everything.
type Filter struct {
	// AddedAfter keeps objects added strictly after it (zero: all).
	AddedAfter   time.Time
	IDs          []string
	Types        []string
	Versions     VersionFilter
	SpecVersions []string
}

// uniqueIDs returns ids without repeats, in their order, in linear time:
// a server vetting a large request asks for many.
func uniqueIDs(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// MatchObject applies the type and spec_version filters, which need
// nothing but the object.
func (f Filter) MatchObject(o *Object) bool {
	if len(f.Types) > 0 && !slices.Contains(f.Types, o.Type) {
		return false
	}
	if len(f.SpecVersions) > 0 && !slices.Contains(f.SpecVersions, o.SpecVersion) {
		return false
	}
	return true
}

// Page is a store's answer to a query: objects in date_added order and
// whether more match after the last of them.
type Page struct {
	Objects []Object
	More    bool
}

// Ownership is who may change an object: the principal that first wrote
// its id, in any collection, and whether a version was revoked (STIX
// revocation is final).
type Ownership struct {
	Owner   string
	Revoked bool
}

// Store persists collections, their objects and add statuses, and who
// owns each object id and each identity.
//
// AddTAXIIObjects and DeleteTAXIIObjects must not run concurrently for
// one collection: the Server serialises them, so that date_added order is
// commit order and a reader paging by date_added never skips an object
// committed late.
//
// Owners and identity bindings are kept by object id across collections,
// ids compared lower-cased: a STIX id is object-type--UUID, its type lower
// case and its UUID read in either case (ParseObject admits no other
// form). They outlive the objects: deleting an object or a collection
// leaves its id owned, so that nobody else can take it over.
type Store interface {
	TAXIICollections(ctx context.Context) ([]Collection, error)
	TAXIICollection(ctx context.Context, id string) (Collection, bool, error)
	PutTAXIICollection(ctx context.Context, c Collection) error
	// DeleteTAXIICollection removes a collection and its objects.
	DeleteTAXIICollection(ctx context.Context, id string) error

	// AddTAXIIObjects stores objects whose Version and DateAdded are set.
	// An object whose id and version are stored already, or an
	// unversioned object whose id is, is skipped; added counts the rest.
	// With each version it stores, in the same commit, it records the
	// version's Owner as its id's owner if the id has none, marks the id
	// revoked if the version is, and binds each of Claims that is not
	// bound to the Owner. A version without an Owner records nothing.
	AddTAXIIObjects(ctx context.Context, collection string, objs []Object) (added int, err error)
	// TAXIIObjects returns up to limit objects matching f, oldest
	// date_added first.
	TAXIIObjects(ctx context.Context, collection string, f Filter, limit int) (Page, error)
	// TAXIIVersions returns every stored version of an object, oldest
	// version first.
	TAXIIVersions(ctx context.Context, collection, id string) ([]Object, error)
	// DeleteTAXIIObjects removes the versions of an object that
	// f.Versions and f.SpecVersions select (all versions if f.Versions
	// is zero) and returns how many it removed.
	DeleteTAXIIObjects(ctx context.Context, collection, id string, f Filter) (int, error)
	// TAXIILastAdded returns the newest date_added in a collection, or
	// the zero time.
	TAXIILastAdded(ctx context.Context, collection string) (time.Time, error)

	// TAXIIOwners returns the ownership of those of ids that have one,
	// keyed by lower-cased id.
	TAXIIOwners(ctx context.Context, ids []string) (map[string]Ownership, error)
	// TAXIIIdentities returns the principal each of the identity ids is
	// bound to, for those bound, keyed by lower-cased id.
	TAXIIIdentities(ctx context.Context, ids []string) (map[string]string, error)
	// BindTAXIIIdentity binds an identity id to a principal, replacing
	// any binding (the server binds the node's own identity so).
	BindTAXIIIdentity(ctx context.Context, id, principal string) error

	PutTAXIIStatus(ctx context.Context, s Status) error
	TAXIIStatus(ctx context.Context, id string) (Status, bool, error)
	// PruneTAXIIStatuses removes the statuses created before before,
	// then, newest first, those beyond the newest keep or beyond maxBytes
	// (the size of the statuses as stored, unbounded if maxBytes <= 0)
	// together with all older ones, and returns how many it removed.
	PruneTAXIIStatuses(ctx context.Context, before time.Time, keep int, maxBytes int64) (int, error)
}

// ownerKey is the form in which stores compare object and identity ids.
func ownerKey(id string) string { return strings.ToLower(id) }

// Status is the TAXII status resource of one add request.
type Status struct {
	ID               string         `json:"id"`
	Status           string         `json:"status"` // "complete" or "pending"
	RequestTimestamp string         `json:"request_timestamp,omitempty"`
	TotalCount       int            `json:"total_count"`
	SuccessCount     int            `json:"success_count"`
	Successes        []StatusDetail `json:"successes,omitempty"`
	FailureCount     int            `json:"failure_count"`
	Failures         []StatusDetail `json:"failures,omitempty"`
	PendingCount     int            `json:"pending_count"`
	Pendings         []StatusDetail `json:"pendings,omitempty"`
	// Partner made the request; only it may read the status.
	Partner string `json:"-"`
	// Created is when the server made the status, which expires it.
	Created time.Time `json:"-"`
}

// StatusDetail names one object of an add request.
type StatusDetail struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Message string `json:"message,omitempty"`
}

// Cursor is how far a poller has read a partner's collection.
type Cursor struct {
	// AddedAfter is the added_after of the pass in progress (with Next),
	// or of the next pass.
	AddedAfter time.Time `json:"added_after,omitzero"`
	// Next is the partner's token for the rest of the pass in progress.
	Next string `json:"next,omitempty"`
	// Last is the newest date_added handed over so far.
	Last time.Time `json:"last,omitzero"`
}

// CursorStore persists pollers' cursors per partner and collection.
type CursorStore interface {
	// TAXIICursor returns the zero Cursor if none was stored.
	TAXIICursor(ctx context.Context, peer, collection string) (Cursor, error)
	PutTAXIICursor(ctx context.Context, peer, collection string, c Cursor) error
}

// ParseTimestamp reads a STIX/TAXII timestamp (RFC 3339).
func ParseTimestamp(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// FormatTimestamp writes t in UTC with as many fractional digits as it
// needs, at least three (STIX timestamps carry milliseconds).
func FormatTimestamp(t time.Time) string {
	t = t.UTC()
	switch {
	case t.Nanosecond()%1e6 == 0:
		return t.Format("2006-01-02T15:04:05.000Z")
	case t.Nanosecond()%1e3 == 0:
		return t.Format("2006-01-02T15:04:05.000000Z")
	}
	return t.Format("2006-01-02T15:04:05.000000000Z")
}

// formatDateAdded writes a date_added, always to the microsecond, so that
// the values a client reads sort as they compare.
func formatDateAdded(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// Refusal is one reason objects of an add request failed: how many
// failed for it and the first few of their ids.
type Refusal struct {
	Reason   string
	Count    int
	Examples []string
}

// Refusals groups a status's listed failures by reason, in the order the
// reasons first appear; a reason is the failure's message with the STIX
// ids it names taken out, so that one refusal of many objects counts
// once. Each keeps up to examples ids.
func (s Status) Refusals(examples int) []Refusal {
	var out []Refusal
	at := map[string]int{}
	for _, f := range s.Failures {
		reason := f.Message
		for _, w := range strings.Fields(f.Message) {
			if w = strings.Trim(w, ":,;.()[]\"'"); strings.Contains(w, "--") {
				reason = strings.ReplaceAll(reason, w, "<id>")
			}
		}
		i, ok := at[reason]
		if !ok {
			i = len(out)
			at[reason] = i
			out = append(out, Refusal{Reason: reason})
		}
		out[i].Count++
		if len(out[i].Examples) < examples {
			out[i].Examples = append(out[i].Examples, f.ID)
		}
	}
	return out
}
