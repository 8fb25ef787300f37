package taxii

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"
)

// MemStore keeps everything in memory: for tests, and for a node that
// shares nothing it must keep across restarts. It implements Store and
// CursorStore and is safe for concurrent use.
type MemStore struct {
	mu         sync.RWMutex
	colls      map[string]Collection
	objs       map[string]*memCollection
	status     map[string]Status
	cursors    map[[2]string]Cursor
	owners     map[string]Ownership // by ownerKey
	identities map[string]string    // by ownerKey
}

type memCollection struct {
	byDate []*Object            // by DateAdded
	byID   map[string][]*Object // each by Version
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore {
	return &MemStore{
		colls:      map[string]Collection{},
		objs:       map[string]*memCollection{},
		status:     map[string]Status{},
		cursors:    map[[2]string]Cursor{},
		owners:     map[string]Ownership{},
		identities: map[string]string{},
	}
}

// TAXIICollections lists the collections by id.
func (m *MemStore) TAXIICollections(ctx context.Context) ([]Collection, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]Collection, 0, len(m.colls))
	for _, c := range m.colls {
		out = append(out, cloneCollection(c))
	}
	slices.SortFunc(out, func(a, b Collection) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// TAXIICollection returns a collection.
func (m *MemStore) TAXIICollection(ctx context.Context, id string) (Collection, bool, error) {
	if err := ctx.Err(); err != nil {
		return Collection{}, false, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	c, ok := m.colls[id]
	return cloneCollection(c), ok, nil
}

func cloneCollection(c Collection) Collection {
	c.CanRead, c.CanWrite = slices.Clone(c.CanRead), slices.Clone(c.CanWrite)
	return c
}

// PutTAXIICollection creates or replaces a collection.
func (m *MemStore) PutTAXIICollection(ctx context.Context, c Collection) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.colls[c.ID] = cloneCollection(c)
	if m.objs[c.ID] == nil {
		m.objs[c.ID] = &memCollection{byID: map[string][]*Object{}}
	}
	return nil
}

// DeleteTAXIICollection removes a collection and its objects.
func (m *MemStore) DeleteTAXIICollection(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.colls, id)
	delete(m.objs, id)
	return nil
}

// AddTAXIIObjects stores new versions and skips known ones.
func (m *MemStore) AddTAXIIObjects(ctx context.Context, collection string, objs []Object) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	mc := m.objs[collection]
	if mc == nil {
		return 0, fmt.Errorf("add objects: no collection %q", collection)
	}
	// Check first, so that a refused batch leaves nothing behind.
	dates := make(map[int64]bool, len(objs))
	for _, o := range objs {
		if o.DateAdded.IsZero() || o.Version.IsZero() {
			return 0, fmt.Errorf("add objects: %s lacks date_added or version", o.ID)
		}
		_, taken := slices.BinarySearchFunc(mc.byDate, o.DateAdded, func(e *Object, t time.Time) int { return e.DateAdded.Compare(t) })
		if taken || dates[o.DateAdded.UnixNano()] {
			return 0, fmt.Errorf("add objects: %s: date_added %s is taken", o.ID, o.DateAdded.Format(time.RFC3339Nano))
		}
		dates[o.DateAdded.UnixNano()] = true
	}
	added := 0
	for i := range objs {
		o := objs[i]
		vs := mc.byID[o.ID]
		if !o.Versioned() && len(vs) > 0 {
			continue
		}
		j, found := slices.BinarySearchFunc(vs, o.Version, func(e *Object, t time.Time) int { return e.Version.Compare(t) })
		if found {
			continue
		}
		k, _ := slices.BinarySearchFunc(mc.byDate, o.DateAdded, func(e *Object, t time.Time) int { return e.DateAdded.Compare(t) })
		m.own(&o)
		o.Markings, o.Raw, o.Owner, o.Claims = slices.Clone(o.Markings), slices.Clone(o.Raw), "", nil
		p := &o
		mc.byID[o.ID] = slices.Insert(vs, j, p)
		mc.byDate = slices.Insert(mc.byDate, k, p)
		added++
	}
	return added, nil
}

// own records what an added version says of its id's owner and of the
// identities it claims.
func (m *MemStore) own(o *Object) {
	if o.Owner == "" {
		return
	}
	key := ownerKey(o.ID)
	own, ok := m.owners[key]
	if !ok {
		own.Owner = o.Owner
	}
	own.Revoked = own.Revoked || o.Revoked
	m.owners[key] = own
	for _, c := range o.Claims {
		if _, ok := m.identities[ownerKey(c)]; !ok {
			m.identities[ownerKey(c)] = o.Owner
		}
	}
}

// TAXIIOwners returns the owners of ids.
func (m *MemStore) TAXIIOwners(ctx context.Context, ids []string) (map[string]Ownership, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := map[string]Ownership{}
	for _, id := range ids {
		if own, ok := m.owners[ownerKey(id)]; ok {
			out[ownerKey(id)] = own
		}
	}
	return out, nil
}

// TAXIIIdentities returns the principals identity ids are bound to.
func (m *MemStore) TAXIIIdentities(ctx context.Context, ids []string) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := map[string]string{}
	for _, id := range ids {
		if p, ok := m.identities[ownerKey(id)]; ok {
			out[ownerKey(id)] = p
		}
	}
	return out, nil
}

// BindTAXIIIdentity binds an identity id to a principal.
func (m *MemStore) BindTAXIIIdentity(ctx context.Context, id, principal string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.identities[ownerKey(id)] = principal
	return nil
}

// TAXIIObjects returns a page of matching objects.
func (m *MemStore) TAXIIObjects(ctx context.Context, collection string, f Filter, limit int) (Page, error) {
	if err := ctx.Err(); err != nil {
		return Page{}, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	mc := m.objs[collection]
	if mc == nil {
		return Page{}, nil
	}
	var cand []*Object
	if len(f.IDs) > 0 {
		for _, id := range uniqueIDs(f.IDs) {
			cand = append(cand, mc.byID[id]...)
		}
		slices.SortFunc(cand, func(a, b *Object) int { return a.DateAdded.Compare(b.DateAdded) })
	} else {
		cand = mc.byDate
	}
	start, _ := slices.BinarySearchFunc(cand, f.AddedAfter, func(e *Object, t time.Time) int {
		if e.DateAdded.After(t) {
			return 1
		}
		return -1
	})
	var p Page
	for _, o := range cand[start:] {
		if !f.MatchObject(o) {
			continue
		}
		vs := mc.byID[o.ID]
		if !f.Versions.Match(o.Version, vs[0] == o, vs[len(vs)-1] == o) {
			continue
		}
		if len(p.Objects) == limit {
			p.More = true
			break
		}
		p.Objects = append(p.Objects, cloneObject(o))
	}
	return p, nil
}

func cloneObject(o *Object) Object {
	c := *o
	c.Markings, c.Raw = slices.Clone(o.Markings), slices.Clone(o.Raw)
	return c
}

// TAXIIVersions returns every version of an object.
func (m *MemStore) TAXIIVersions(ctx context.Context, collection, id string) ([]Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	mc := m.objs[collection]
	if mc == nil {
		return nil, nil
	}
	var out []Object
	for _, o := range mc.byID[id] {
		out = append(out, cloneObject(o))
	}
	return out, nil
}

// DeleteTAXIIObjects removes the selected versions of an object.
func (m *MemStore) DeleteTAXIIObjects(ctx context.Context, collection, id string, f Filter) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	mc := m.objs[collection]
	if mc == nil {
		return 0, nil
	}
	vs := mc.byID[id]
	if f.Versions.IsZero() {
		f.Versions.All = true
	}
	var keep []*Object
	n := 0
	for i, o := range vs {
		if f.MatchObject(o) && f.Versions.Match(o.Version, i == 0, i == len(vs)-1) {
			k, _ := slices.BinarySearchFunc(mc.byDate, o.DateAdded, func(e *Object, t time.Time) int { return e.DateAdded.Compare(t) })
			mc.byDate = slices.Delete(mc.byDate, k, k+1)
			n++
			continue
		}
		keep = append(keep, o)
	}
	if len(keep) == 0 {
		delete(mc.byID, id)
	} else {
		mc.byID[id] = keep
	}
	return n, nil
}

// TAXIILastAdded returns the newest date_added.
func (m *MemStore) TAXIILastAdded(ctx context.Context, collection string) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if mc := m.objs[collection]; mc != nil && len(mc.byDate) > 0 {
		return mc.byDate[len(mc.byDate)-1].DateAdded, nil
	}
	return time.Time{}, nil
}

// PutTAXIIStatus stores a status.
func (m *MemStore) PutTAXIIStatus(ctx context.Context, s Status) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.status[s.ID] = cloneStatus(s)
	return nil
}

// TAXIIStatus returns a status.
func (m *MemStore) TAXIIStatus(ctx context.Context, id string) (Status, bool, error) {
	if err := ctx.Err(); err != nil {
		return Status{}, false, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	s, ok := m.status[id]
	return cloneStatus(s), ok, nil
}

// PruneTAXIIStatuses removes expired statuses and the oldest beyond keep
// or maxBytes, a status's size being that of its JSON.
func (m *MemStore) PruneTAXIIStatuses(ctx context.Context, before time.Time, keep int, maxBytes int64) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	all := make([]Status, 0, len(m.status))
	for _, s := range m.status {
		all = append(all, s)
	}
	slices.SortFunc(all, func(a, b Status) int { return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID)) })
	n, kept, size, full := 0, 0, int64(0), false
	for i := len(all) - 1; i >= 0; i-- {
		s := all[i]
		if !full && maxBytes > 0 {
			b, err := json.Marshal(s)
			if err != nil {
				return n, fmt.Errorf("prune statuses: %w", err)
			}
			size += int64(len(b))
			full = size > maxBytes
		}
		if full || s.Created.Before(before) || kept >= keep {
			delete(m.status, s.ID)
			n++
			continue
		}
		kept++
	}
	return n, nil
}

func cloneStatus(s Status) Status {
	s.Successes, s.Failures, s.Pendings = slices.Clone(s.Successes), slices.Clone(s.Failures), slices.Clone(s.Pendings)
	return s
}

// TAXIICursor returns a poller's cursor.
func (m *MemStore) TAXIICursor(ctx context.Context, peer, collection string) (Cursor, error) {
	if err := ctx.Err(); err != nil {
		return Cursor{}, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.cursors[[2]string{peer, collection}], nil
}

// PutTAXIICursor stores a poller's cursor.
func (m *MemStore) PutTAXIICursor(ctx context.Context, peer, collection string, c Cursor) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cursors[[2]string{peer, collection}] = c
	return nil
}
