package pebble

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/store/internal/kv"
	"github.com/tracehound/tracehound/taxii"
)

// TAXII keys:
//
//	x/c/<collection>                      collection (JSON)
//	x/s/<status id>                       add status (JSON)
//	x/t/<created:8><status id>            size:8 of the status record (empty in stores of
//	                                      before sizes): statuses by creation, to expire them
//	x/m/status-index                      empty: x/t holds every status (stores of
//	                                      before x/t are indexed at the first prune)
//	x/p/<peer>\x00<collection>            poller cursor (JSON)
//	x/o/<collection>\x00d<date_added:8>   object version (record below)
//	x/o/<collection>\x00l<date_added:8>   empty: the version at date_added is its object's last
//	x/o/<collection>\x00v<id>\x00<ver:8>  date_added:8 of version ver of object id
//	x/w/<lower-cased object id>           flags:1 (1: revoked), owner: who owns the id
//	x/i/<lower-cased identity id>         principal the identity is bound to
//
// date_added (microseconds) and versions (nanoseconds) are big-endian
// with the sign bit flipped, so that key order is time order. date_added
// is unique within a collection, so a page of objects is a range scan of
// d, or of l for the usual "last version" query; v finds an object's
// versions.
const (
	prefixTAXII      = "x/"
	taxiiCollections = prefixTAXII + "c/"
	taxiiStatus      = prefixTAXII + "s/"
	taxiiStatusTimes = prefixTAXII + "t/"
	taxiiStatusIndex = prefixTAXII + "m/status-index"
	taxiiCursors     = prefixTAXII + "p/"
	taxiiObjects     = prefixTAXII + "o/"
	taxiiOwners      = prefixTAXII + "w/"
	taxiiIdentities  = prefixTAXII + "i/"
)

const (
	kindDate    = 'd'
	kindLast    = 'l'
	kindVersion = 'v'
)

var errTAXIIRecord = errors.New("corrupt TAXII object record")

func taxiiCollPrefix(coll string) []byte {
	return append([]byte(taxiiObjects+coll), 0)
}

func taxiiKindPrefix(coll string, kind byte) []byte {
	return append(taxiiCollPrefix(coll), kind)
}

func appendTime(b []byte, t int64) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(t)^1<<63)
}

func readTime(b []byte) int64 { return int64(binary.BigEndian.Uint64(b) ^ 1<<63) }

func taxiiDateKey(coll string, kind byte, micro int64) []byte {
	return appendTime(taxiiKindPrefix(coll, kind), micro)
}

func taxiiVersionPrefix(coll, id string) []byte {
	return append(append(taxiiKindPrefix(coll, kindVersion), id...), 0)
}

// Object record: a format byte, flags (1 created, 2 modified, 4 revoked), date_added
// (µs), version (ns), created and modified (ns) if flagged, then id, type,
// spec_version and the markings as uvarint-length strings, then the raw
// JSON to the end.
const taxiiRecordV1 = 1

func appendTAXIIRecord(b []byte, o *taxii.Object) []byte {
	var flags byte
	if !o.Created.IsZero() {
		flags |= 1
	}
	if !o.Modified.IsZero() {
		flags |= 2
	}
	if o.Revoked {
		flags |= 4
	}
	b = append(b, taxiiRecordV1, flags)
	b = binary.BigEndian.AppendUint64(b, uint64(o.DateAdded.UnixMicro()))
	b = binary.BigEndian.AppendUint64(b, uint64(o.Version.UnixNano()))
	if flags&1 != 0 {
		b = binary.BigEndian.AppendUint64(b, uint64(o.Created.UnixNano()))
	}
	if flags&2 != 0 {
		b = binary.BigEndian.AppendUint64(b, uint64(o.Modified.UnixNano()))
	}
	for _, s := range []string{o.ID, o.Type, o.SpecVersion} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(o.Markings)))
	for _, m := range o.Markings {
		b = binary.AppendUvarint(b, uint64(len(m)))
		b = append(b, m...)
	}
	return append(b, o.Raw...)
}

// decodeTAXIIRecord decodes a record; Raw is copied, as b belongs to an
// iterator.
func decodeTAXIIRecord(b []byte) (taxii.Object, error) {
	var o taxii.Object
	if len(b) < 18 || b[0] != taxiiRecordV1 {
		return o, errTAXIIRecord
	}
	flags := b[1]
	o.Revoked = flags&4 != 0
	o.DateAdded = time.UnixMicro(int64(binary.BigEndian.Uint64(b[2:]))).UTC()
	o.Version = time.Unix(0, int64(binary.BigEndian.Uint64(b[10:]))).UTC()
	b = b[18:]
	for _, f := range []struct {
		bit byte
		t   *time.Time
	}{{1, &o.Created}, {2, &o.Modified}} {
		if flags&f.bit != 0 {
			if len(b) < 8 {
				return o, errTAXIIRecord
			}
			*f.t = time.Unix(0, int64(binary.BigEndian.Uint64(b))).UTC()
			b = b[8:]
		}
	}
	str := func() (string, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return "", false
		}
		s := string(b[k : k+int(n)])
		b = b[k+int(n):]
		return s, true
	}
	var ok bool
	for _, p := range []*string{&o.ID, &o.Type, &o.SpecVersion} {
		if *p, ok = str(); !ok {
			return o, errTAXIIRecord
		}
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return o, errTAXIIRecord
	}
	b = b[k:]
	if n > 0 {
		o.Markings = make([]string, n)
		for i := range o.Markings {
			if o.Markings[i], ok = str(); !ok {
				return o, errTAXIIRecord
			}
		}
	}
	o.Raw = bytes.Clone(b)
	return o, nil
}

// TAXIICollections lists the TAXII collections by id.
func (d *DB) TAXIICollections(ctx context.Context) ([]taxii.Collection, error) {
	var out []taxii.Collection
	err := d.scan(ctx, []byte(taxiiCollections), func(_, v []byte) error {
		var c taxii.Collection
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("decode TAXII collection: %w", err)
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list TAXII collections: %w", err)
	}
	return out, nil
}

// TAXIICollection returns a TAXII collection.
func (d *DB) TAXIICollection(ctx context.Context, id string) (taxii.Collection, bool, error) {
	var c taxii.Collection
	if err := ctx.Err(); err != nil {
		return c, false, err
	}
	v, ok, err := d.get([]byte(taxiiCollections + id))
	if err != nil || !ok {
		return c, false, err
	}
	if err := json.Unmarshal(v, &c); err != nil {
		return c, false, fmt.Errorf("decode TAXII collection %s: %w", id, err)
	}
	return c, true, nil
}

// PutTAXIICollection creates or replaces a TAXII collection.
func (d *DB) PutTAXIICollection(ctx context.Context, c taxii.Collection) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	v, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("store TAXII collection %s: %w", c.ID, err)
	}
	if err := d.db.Set([]byte(taxiiCollections+c.ID), v, pebble.Sync); err != nil {
		return fmt.Errorf("store TAXII collection %s: %w", c.ID, err)
	}
	return nil
}

// DeleteTAXIICollection removes a TAXII collection and its objects.
func (d *DB) DeleteTAXIICollection(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b := d.db.NewBatch()
	defer b.Close()
	if err := b.Delete([]byte(taxiiCollections+id), nil); err != nil {
		return err
	}
	if err := kv.DeleteRange(b, taxiiCollPrefix(id)); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("delete TAXII collection %s: %w", id, err)
	}
	return nil
}

// taxiiIDState is what an add knows of one object id in a collection:
// whether it has a version, the newest one's version and date_added,
// and every version, so that a version sent again is skipped.
type taxiiIDState struct {
	exists        bool
	lastVer, last int64
	vers          []taxiiVersionEntry
}

func (s *taxiiIDState) has(ver int64) bool {
	return slices.ContainsFunc(s.vers, func(e taxiiVersionEntry) bool { return e.ver == ver })
}

// seekSorted calls fn with the value stored under each of keys, which
// must be sorted, and whether there is one, on one iterator over prefix
// whose seeks only move forward: a batch of thousands of keys costs one
// iterator, not one each.
func seekSorted(r pebble.Reader, prefix []byte, keys [][]byte, fn func(i int, v []byte, ok bool) error) error {
	if len(keys) == 0 {
		return nil
	}
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: kv.PrefixEnd(prefix)})
	if err != nil {
		return err
	}
	defer it.Close()
	for i, k := range keys {
		ok := seekForward(it, k, i > 0) && bytes.Equal(it.Key(), k)
		var v []byte
		if ok {
			v = it.Value()
		}
		if err := fn(i, v, ok); err != nil {
			return err
		}
	}
	return it.Error()
}

// seekForward positions it at the first key at or after k, as SeekGE
// does, where keys are sought in increasing order (positioned: one was
// sought before, and the iterator moved on from it only within keys
// less than k). Where the iterator already stands at or after k, or ran
// out, nothing lies between the key sought before and its position, so
// it is where a seek would put it: most ids of a batch of new objects
// fall in a gap another id of the batch already found, and cost no seek.
func seekForward(it *pebble.Iterator, k []byte, positioned bool) bool {
	if positioned && (!it.Valid() || bytes.Compare(k, it.Key()) <= 0) {
		return it.Valid()
	}
	return it.SeekGE(k)
}

// sortedKeys returns prefix+s for each distinct s, sorted, and the
// distinct strings in the same order.
func sortedKeys(prefix string, ss []string) ([][]byte, []string) {
	ss = slices.Clone(ss)
	slices.Sort(ss)
	ss = slices.Compact(ss)
	keys := make([][]byte, len(ss))
	for i, s := range ss {
		keys[i] = []byte(prefix + s)
	}
	return keys, ss
}

// taxiiIDStates reads the stored versions of ids in a collection, in one
// forward pass over its v range.
func taxiiIDStates(r pebble.Reader, coll string, ids []string) (map[string]*taxiiIDState, error) {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := make(map[string]*taxiiIDState, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	kp := taxiiKindPrefix(coll, kindVersion)
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: kp, UpperBound: kv.PrefixEnd(kp)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	// An id holds no NUL, so prefixes sort as their ids do: each seek
	// moves forward.
	vp := slices.Clip(kp)
	for i, id := range ids {
		vp = append(append(vp[:len(kp)], id...), 0)
		st := &taxiiIDState{}
		out[id] = st
		for valid := seekForward(it, vp, i > 0); valid && bytes.HasPrefix(it.Key(), vp); valid = it.Next() {
			k, v := it.Key(), it.Value()
			if len(k) != len(vp)+8 || len(v) != 8 {
				return nil, errTAXIIRecord
			}
			e := taxiiVersionEntry{readTime(k[len(vp):]), readTime(v)}
			st.vers = append(st.vers, e)
			// Versions are in key order: the last read is the newest.
			st.exists, st.lastVer, st.last = true, e.ver, e.da
		}
	}
	return out, it.Error()
}

// takenDates returns those of das (µs) a collection holds an object at.
// A fresh batch is stamped after everything stored: one look at the
// newest key settles it.
func takenDates(r pebble.Reader, coll string, das []int64) (map[int64]bool, error) {
	taken := map[int64]bool{}
	if len(das) == 0 {
		return taken, nil
	}
	prefix := taxiiKindPrefix(coll, kindDate)
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: kv.PrefixEnd(prefix)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	if !it.Last() {
		return taken, it.Error()
	}
	if k := it.Key(); len(k) != len(prefix)+8 {
		return nil, errTAXIIRecord
	}
	newest := readTime(it.Key()[len(prefix):])
	sorted := slices.Clone(das)
	slices.Sort(sorted)
	if sorted[0] > newest {
		return taken, nil
	}
	key := slices.Clip(prefix)
	for _, da := range slices.Compact(sorted) {
		if da > newest {
			break
		}
		key = appendTime(key[:len(prefix)], da)
		if it.SeekGE(key) && bytes.Equal(it.Key(), key) {
			taken[da] = true
		}
	}
	return taken, it.Error()
}

// taxiiOwnerState is the owner records and identity bindings an add
// reads and writes, read for the whole batch in two forward passes and
// then kept in memory as the batch changes them.
type taxiiOwnerState struct {
	owners map[string][]byte // by lower-cased id
	bound  map[string]bool   // by lower-cased identity id
}

func readOwnerState(r pebble.Reader, objs []taxii.Object) (*taxiiOwnerState, error) {
	var ids, claims []string
	for i := range objs {
		if objs[i].Owner == "" {
			continue
		}
		ids = append(ids, strings.ToLower(objs[i].ID))
		for _, c := range objs[i].Claims {
			claims = append(claims, strings.ToLower(c))
		}
	}
	s := &taxiiOwnerState{owners: make(map[string][]byte, len(ids)), bound: make(map[string]bool, len(claims))}
	keys, ids := sortedKeys(taxiiOwners, ids)
	err := seekSorted(r, []byte(taxiiOwners), keys, func(i int, v []byte, ok bool) error {
		if ok {
			s.owners[ids[i]] = bytes.Clone(v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	keys, claims = sortedKeys(taxiiIdentities, claims)
	err = seekSorted(r, []byte(taxiiIdentities), keys, func(i int, _ []byte, ok bool) error {
		if ok {
			s.bound[claims[i]] = true
		}
		return nil
	})
	return s, err
}

// AddTAXIIObjects stores object versions in one synced batch, skipping
// those already stored (and unversioned objects whose id is). What the
// batch must know of the store (the ids' versions, taken date_added,
// owners and bindings) is read up front, one forward pass a key range
// for the whole batch; what the batch itself adds (a bundle may carry one
// object twice, or two versions of one) is kept in memory beside it.
func (d *DB) AddTAXIIObjects(ctx context.Context, coll string, objs []taxii.Object) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if _, ok, err := d.get([]byte(taxiiCollections + coll)); err != nil {
		return 0, fmt.Errorf("add TAXII objects to %s: %w", coll, err)
	} else if !ok {
		return 0, fmt.Errorf("add TAXII objects: no collection %q", coll)
	}
	ids := make([]string, len(objs))
	das := make([]int64, len(objs))
	size := 0
	for i := range objs {
		o := &objs[i]
		if o.DateAdded.IsZero() || o.Version.IsZero() || o.DateAdded.Nanosecond()%1000 != 0 {
			return 0, fmt.Errorf("add TAXII object %s: date_added must be set in whole microseconds, and the version set", o.ID)
		}
		ids[i], das[i] = o.ID, o.DateAdded.UnixMicro()
		// Each object is written under four keys at most.
		size += len(o.Raw) + 3*len(o.ID) + 256
	}
	// One snapshot for every read, so that they agree with each other.
	snap := d.db.NewSnapshot()
	defer snap.Close()
	states, err := taxiiIDStates(snap, coll, ids)
	if err != nil {
		return 0, fmt.Errorf("add TAXII objects to %s: %w", coll, err)
	}
	taken, err := takenDates(snap, coll, das)
	if err != nil {
		return 0, fmt.Errorf("add TAXII objects to %s: %w", coll, err)
	}
	own, err := readOwnerState(snap, objs)
	if err != nil {
		return 0, fmt.Errorf("add TAXII objects to %s: %w", coll, err)
	}
	b := d.db.NewBatchWithSize(size)
	defer b.Close()
	added := 0
	var rec []byte
	for i := range objs {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		o := &objs[i]
		st := states[o.ID]
		if st.exists && !o.Versioned() {
			continue
		}
		ver := o.Version.UnixNano()
		if st.exists && st.has(ver) {
			continue
		}
		da := das[i]
		// date_added orders the collection: a second object at one
		// instant would overwrite the first.
		if taken[da] {
			return 0, fmt.Errorf("add TAXII object %s: date_added %s is taken", o.ID, o.DateAdded.Format(time.RFC3339Nano))
		}
		taken[da] = true
		rec = appendTAXIIRecord(rec[:0], o)
		if err := b.Set(taxiiDateKey(coll, kindDate, da), rec, nil); err != nil {
			return 0, err
		}
		if err := b.Set(appendTime(taxiiVersionPrefix(coll, o.ID), ver), appendTime(nil, da), nil); err != nil {
			return 0, err
		}
		if err := own.add(b, o); err != nil {
			return 0, fmt.Errorf("add TAXII object %s: %w", o.ID, err)
		}
		if !st.exists || ver > st.lastVer {
			if err := b.Set(taxiiDateKey(coll, kindLast, da), nil, nil); err != nil {
				return 0, err
			}
			if st.exists {
				if err := b.Delete(taxiiDateKey(coll, kindLast, st.last), nil); err != nil {
					return 0, err
				}
			}
			st.lastVer, st.last = ver, da
		}
		st.exists = true
		st.vers = append(st.vers, taxiiVersionEntry{ver, da})
		added++
	}
	if added == 0 {
		return 0, nil
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return 0, fmt.Errorf("add TAXII objects to %s: %w", coll, err)
	}
	return added, nil
}

// add records, in the batch that adds a version, what the version says
// of its id's owner and of the identities it claims (see taxii.Store).
func (s *taxiiOwnerState) add(b *pebble.Batch, o *taxii.Object) error {
	if o.Owner == "" {
		return nil
	}
	k := strings.ToLower(o.ID)
	switch rec, ok := s.owners[k]; {
	case !ok:
		rec = []byte{0}
		if o.Revoked {
			rec[0] = 1
		}
		rec = append(rec, o.Owner...)
		if err := b.Set([]byte(taxiiOwners+k), rec, nil); err != nil {
			return err
		}
		s.owners[k] = rec
	case o.Revoked && len(rec) > 0 && rec[0]&1 == 0:
		rec[0] |= 1
		if err := b.Set([]byte(taxiiOwners+k), rec, nil); err != nil {
			return err
		}
	}
	for _, c := range o.Claims {
		c = strings.ToLower(c)
		if s.bound[c] {
			continue
		}
		if err := b.Set([]byte(taxiiIdentities+c), []byte(o.Owner), nil); err != nil {
			return err
		}
		s.bound[c] = true
	}
	return nil
}

// TAXIIOwners returns the owners of those of ids that have one, read in
// one forward pass.
func (d *DB) TAXIIOwners(ctx context.Context, ids []string) (map[string]taxii.Ownership, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lower := make([]string, len(ids))
	for i, id := range ids {
		lower[i] = strings.ToLower(id)
	}
	keys, lower := sortedKeys(taxiiOwners, lower)
	out := map[string]taxii.Ownership{}
	err := seekSorted(d.db, []byte(taxiiOwners), keys, func(i int, v []byte, ok bool) error {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		switch {
		case !ok:
		case len(v) < 1:
			return fmt.Errorf("owner of %s: %w", lower[i], errTAXIIRecord)
		default:
			out[lower[i]] = taxii.Ownership{Owner: string(v[1:]), Revoked: v[0]&1 != 0}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("owners: %w", err)
	}
	return out, nil
}

// TAXIIIdentities returns the principals the identity ids are bound to,
// read in one forward pass.
func (d *DB) TAXIIIdentities(ctx context.Context, ids []string) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lower := make([]string, len(ids))
	for i, id := range ids {
		lower[i] = strings.ToLower(id)
	}
	keys, lower := sortedKeys(taxiiIdentities, lower)
	out := map[string]string{}
	err := seekSorted(d.db, []byte(taxiiIdentities), keys, func(i int, v []byte, ok bool) error {
		if ok {
			out[lower[i]] = string(v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("identity bindings: %w", err)
	}
	return out, nil
}

// BindTAXIIIdentity binds an identity id to a principal.
func (d *DB) BindTAXIIIdentity(ctx context.Context, id, principal string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := d.db.Set([]byte(taxiiIdentities+strings.ToLower(id)), []byte(principal), pebble.Sync); err != nil {
		return fmt.Errorf("bind identity %s: %w", id, err)
	}
	return nil
}

// TAXIIObjects returns up to limit objects matching f in date_added order.
func (d *DB) TAXIIObjects(ctx context.Context, coll string, f taxii.Filter, limit int) (taxii.Page, error) {
	if err := ctx.Err(); err != nil {
		return taxii.Page{}, err
	}
	if limit <= 0 {
		return taxii.Page{}, fmt.Errorf("TAXII objects of %s: limit %d", coll, limit)
	}
	snap := d.db.NewSnapshot()
	defer snap.Close()
	var p taxii.Page
	var err error
	switch {
	case len(f.IDs) > 0:
		p, err = taxiiObjectsByID(ctx, snap, coll, f, limit)
	case f.Versions.OnlyLast():
		p, err = taxiiScan(ctx, snap, coll, kindLast, f, limit)
	default:
		p, err = taxiiScan(ctx, snap, coll, kindDate, f, limit)
	}
	if err != nil {
		return taxii.Page{}, fmt.Errorf("TAXII objects of %s: %w", coll, err)
	}
	return p, nil
}

// lowerDate is the first date_added key of kind strictly after t.
func lowerDate(coll string, kind byte, t time.Time) []byte {
	if t.IsZero() {
		return taxiiKindPrefix(coll, kind)
	}
	return taxiiDateKey(coll, kind, t.UnixMicro()+1)
}

// taxiiScan pages through the l (last versions) or d (all versions) range
// from f.AddedAfter, reading records from d.
func taxiiScan(ctx context.Context, snap *pebble.Snapshot, coll string, kind byte, f taxii.Filter, limit int) (taxii.Page, error) {
	var p taxii.Page
	prefix := taxiiKindPrefix(coll, kind)
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: lowerDate(coll, kind, f.AddedAfter), UpperBound: kv.PrefixEnd(prefix)})
	if err != nil {
		return p, err
	}
	defer it.Close()
	// For l, a second iterator reads each record from d: both ranges are
	// in date_added order, so its seeks only move forward.
	var recs *pebble.Iterator
	if kind == kindLast {
		dp := taxiiKindPrefix(coll, kindDate)
		if recs, err = snap.NewIter(&pebble.IterOptions{LowerBound: dp, UpperBound: kv.PrefixEnd(dp)}); err != nil {
			return p, err
		}
		defer recs.Close()
	}
	var versions *pebble.Iterator // for match[version]=first, opened on first use
	defer func() {
		if versions != nil {
			versions.Close()
		}
	}()
	dkey := taxiiKindPrefix(coll, kindDate)
	n := 0
	for it.First(); it.Valid(); it.Next() {
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return p, err
			}
		}
		k := it.Key()
		if len(k) != len(prefix)+8 {
			return p, errTAXIIRecord
		}
		v := it.Value()
		if recs != nil {
			dkey = append(dkey[:len(prefix)], k[len(prefix):]...)
			if !recs.SeekGE(dkey) || !bytes.Equal(recs.Key(), dkey) {
				if err := recs.Error(); err != nil {
					return p, err
				}
				return p, fmt.Errorf("%w: no record for last-version key %x", errTAXIIRecord, k)
			}
			v = recs.Value()
		}
		o, err := decodeTAXIIRecord(v)
		if err != nil {
			return p, err
		}
		if !f.MatchObject(&o) {
			continue
		}
		if kind == kindDate && !f.Versions.All {
			first, last, err := taxiiFirstLast(snap, &versions, coll, &o, f.Versions)
			if err != nil {
				return p, err
			}
			if !f.Versions.Match(o.Version, first, last) {
				continue
			}
		}
		if len(p.Objects) == limit {
			p.More = true
			break
		}
		p.Objects = append(p.Objects, o)
	}
	return p, it.Error()
}

// taxiiFirstLast reports whether a version is its object's first and
// last, looking up only what vf needs.
func taxiiFirstLast(snap *pebble.Snapshot, versions **pebble.Iterator, coll string, o *taxii.Object, vf taxii.VersionFilter) (first, last bool, err error) {
	da := o.DateAdded.UnixMicro()
	if vf.Last || vf.IsZero() {
		_, closer, err := snap.Get(taxiiDateKey(coll, kindLast, da))
		switch {
		case err == nil:
			closer.Close()
			last = true
		case !errors.Is(err, pebble.ErrNotFound):
			return false, false, err
		}
	}
	if vf.First {
		if *versions == nil {
			vp := taxiiKindPrefix(coll, kindVersion)
			if *versions, err = snap.NewIter(&pebble.IterOptions{LowerBound: vp, UpperBound: kv.PrefixEnd(vp)}); err != nil {
				return false, false, err
			}
		}
		it := *versions
		vp := taxiiVersionPrefix(coll, o.ID)
		if it.SeekGE(vp) && bytes.HasPrefix(it.Key(), vp) && len(it.Value()) == 8 {
			first = readTime(it.Value()) == da
		}
		if err := it.Error(); err != nil {
			return false, false, err
		}
	}
	return first, last, nil
}

// taxiiVersionEntry is one version of an object as the v range lists it.
type taxiiVersionEntry struct{ ver, da int64 }

func taxiiVersionEntries(r pebble.Reader, coll, id string) ([]taxiiVersionEntry, error) {
	vp := taxiiVersionPrefix(coll, id)
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: vp, UpperBound: kv.PrefixEnd(vp)})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []taxiiVersionEntry
	for it.First(); it.Valid(); it.Next() {
		k, v := it.Key(), it.Value()
		if len(k) != len(vp)+8 || len(v) != 8 {
			return nil, errTAXIIRecord
		}
		out = append(out, taxiiVersionEntry{readTime(k[len(vp):]), readTime(v)})
	}
	return out, it.Error()
}

func taxiiRecord(r pebble.Reader, coll string, da int64) (taxii.Object, error) {
	v, closer, err := r.Get(taxiiDateKey(coll, kindDate, da))
	if err != nil {
		return taxii.Object{}, fmt.Errorf("record at date_added %d: %w", da, err)
	}
	defer closer.Close()
	return decodeTAXIIRecord(v)
}

// taxiiObjectsByID answers a match[id] query from the v range: a few
// objects, whose versions are gathered and put in date_added order.
func taxiiObjectsByID(ctx context.Context, snap *pebble.Snapshot, coll string, f taxii.Filter, limit int) (taxii.Page, error) {
	var p taxii.Page
	var all []taxii.Object
	after := int64(-1 << 63)
	if !f.AddedAfter.IsZero() {
		after = f.AddedAfter.UnixMicro()
	}
	// Every id's versions in one forward pass: a batch asking for
	// thousands of ids costs one iterator, not one each.
	states, err := taxiiIDStates(snap, coll, f.IDs)
	if err != nil {
		return p, err
	}
	n := 0
	for _, st := range states {
		vs := st.vers
		for i, e := range vs {
			if n++; n%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return p, err
				}
			}
			if e.da <= after || !f.Versions.Match(time.Unix(0, e.ver).UTC(), i == 0, i == len(vs)-1) {
				continue
			}
			o, err := taxiiRecord(snap, coll, e.da)
			if err != nil {
				return p, err
			}
			if f.MatchObject(&o) {
				all = append(all, o)
			}
		}
	}
	slices.SortFunc(all, func(a, b taxii.Object) int { return a.DateAdded.Compare(b.DateAdded) })
	if len(all) > limit {
		all, p.More = all[:limit], true
	}
	p.Objects = all
	return p, nil
}

// TAXIIVersions returns every version of an object, oldest version first.
func (d *DB) TAXIIVersions(ctx context.Context, coll, id string) ([]taxii.Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	snap := d.db.NewSnapshot()
	defer snap.Close()
	vs, err := taxiiVersionEntries(snap, coll, id)
	if err != nil {
		return nil, fmt.Errorf("TAXII versions of %s in %s: %w", id, coll, err)
	}
	out := make([]taxii.Object, 0, len(vs))
	for _, e := range vs {
		o, err := taxiiRecord(snap, coll, e.da)
		if err != nil {
			return nil, fmt.Errorf("TAXII versions of %s in %s: %w", id, coll, err)
		}
		out = append(out, o)
	}
	return out, nil
}

// DeleteTAXIIObjects removes the versions of an object f selects (all if
// f.Versions is zero); if the last goes, the newest left becomes last.
func (d *DB) DeleteTAXIIObjects(ctx context.Context, coll, id string, f taxii.Filter) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if f.Versions.IsZero() {
		f.Versions.All = true
	}
	b := d.db.NewIndexedBatch()
	defer b.Close()
	vs, err := taxiiVersionEntries(b, coll, id)
	if err != nil {
		return 0, fmt.Errorf("delete TAXII object %s from %s: %w", id, coll, err)
	}
	vp := taxiiVersionPrefix(coll, id)
	var keep []taxiiVersionEntry
	lastGone := false
	for i, e := range vs {
		o, err := taxiiRecord(b, coll, e.da)
		if err != nil {
			return 0, fmt.Errorf("delete TAXII object %s from %s: %w", id, coll, err)
		}
		last := i == len(vs)-1
		if !f.MatchObject(&o) || !f.Versions.Match(o.Version, i == 0, last) {
			keep = append(keep, e)
			continue
		}
		lastGone = lastGone || last
		for _, k := range [][]byte{taxiiDateKey(coll, kindDate, e.da), appendTime(slices.Clip(vp), e.ver)} {
			if err := b.Delete(k, nil); err != nil {
				return 0, err
			}
		}
		if last {
			if err := b.Delete(taxiiDateKey(coll, kindLast, e.da), nil); err != nil {
				return 0, err
			}
		}
	}
	n := len(vs) - len(keep)
	if n == 0 {
		return 0, nil
	}
	if lastGone && len(keep) > 0 {
		if err := b.Set(taxiiDateKey(coll, kindLast, keep[len(keep)-1].da), nil, nil); err != nil {
			return 0, err
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return 0, fmt.Errorf("delete TAXII object %s from %s: %w", id, coll, err)
	}
	return n, nil
}

// TAXIILastAdded returns the newest date_added in a collection.
func (d *DB) TAXIILastAdded(ctx context.Context, coll string) (time.Time, error) {
	if err := ctx.Err(); err != nil {
		return time.Time{}, err
	}
	prefix := taxiiKindPrefix(coll, kindDate)
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: kv.PrefixEnd(prefix)})
	if err != nil {
		return time.Time{}, err
	}
	defer it.Close()
	if !it.Last() {
		return time.Time{}, it.Error()
	}
	k := it.Key()
	if len(k) != len(prefix)+8 {
		return time.Time{}, fmt.Errorf("last TAXII object of %s: %w", coll, errTAXIIRecord)
	}
	return time.UnixMicro(readTime(k[len(prefix):])).UTC(), nil
}

// taxiiStatusRecord keeps what the status resource does not show: the
// partner it belongs to and when it was made.
type taxiiStatusRecord struct {
	Partner string       `json:"partner"`
	Created time.Time    `json:"created,omitzero"`
	Status  taxii.Status `json:"status"`
}

// statusTime is the x/t time of a status: its creation, else its
// request_timestamp, else the epoch (the first to expire).
func statusTime(r taxiiStatusRecord) int64 {
	t := r.Created
	if t.IsZero() {
		t, _ = taxii.ParseTimestamp(r.Status.RequestTimestamp)
	}
	if t.Before(time.Unix(0, 0)) {
		return 0
	}
	return t.UnixNano()
}

func taxiiStatusTimeKey(t int64, id string) []byte {
	return append(appendTime([]byte(taxiiStatusTimes), t), id...)
}

// PutTAXIIStatus stores the status of an add request.
func (d *DB) PutTAXIIStatus(ctx context.Context, s taxii.Status) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rec := taxiiStatusRecord{Partner: s.Partner, Created: s.Created, Status: s}
	v, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("store TAXII status %s: %w", s.ID, err)
	}
	b := d.db.NewBatch()
	defer b.Close()
	// A status stored again must not stay indexed at its old time.
	if old, ok, err := d.get([]byte(taxiiStatus + s.ID)); err != nil {
		return fmt.Errorf("store TAXII status %s: %w", s.ID, err)
	} else if ok {
		var r taxiiStatusRecord
		if json.Unmarshal(old, &r) == nil {
			if err := b.Delete(taxiiStatusTimeKey(statusTime(r), s.ID), nil); err != nil {
				return err
			}
		}
	}
	if err := b.Set([]byte(taxiiStatus+s.ID), v, nil); err != nil {
		return err
	}
	if err := b.Set(taxiiStatusTimeKey(statusTime(rec), s.ID), binary.BigEndian.AppendUint64(nil, uint64(len(v))), nil); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("store TAXII status %s: %w", s.ID, err)
	}
	return nil
}

// TAXIIStatus returns the status of an add request.
func (d *DB) TAXIIStatus(ctx context.Context, id string) (taxii.Status, bool, error) {
	if err := ctx.Err(); err != nil {
		return taxii.Status{}, false, err
	}
	v, ok, err := d.get([]byte(taxiiStatus + id))
	if err != nil || !ok {
		return taxii.Status{}, false, err
	}
	var r taxiiStatusRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return taxii.Status{}, false, fmt.Errorf("decode TAXII status %s: %w", id, err)
	}
	r.Status.Partner, r.Status.Created = r.Partner, r.Created
	return r.Status, true, nil
}

// PruneTAXIIStatuses deletes the statuses created before before and,
// newest first, those beyond keep or beyond maxBytes with all older ones.
// It walks x/t newest first, whose values hold the records' sizes, so it
// reads no status's record (but those indexed before sizes were kept).
func (d *DB) PruneTAXIIStatuses(ctx context.Context, before time.Time, keep int, maxBytes int64) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := d.indexTAXIIStatuses(ctx); err != nil {
		return 0, fmt.Errorf("prune TAXII statuses: %w", err)
	}
	cutoff := int64(0)
	if before.After(time.Unix(0, 0)) {
		cutoff = before.UnixNano()
	}
	prefix := []byte(taxiiStatusTimes)
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: kv.PrefixEnd(prefix)})
	if err != nil {
		return 0, fmt.Errorf("prune TAXII statuses: %w", err)
	}
	defer it.Close()
	b := d.db.NewBatch()
	defer b.Close()
	kept, n := 0, 0
	size, full := int64(0), false
	for it.Last(); it.Valid(); it.Prev() {
		k := it.Key()
		if len(k) < len(prefix)+8 {
			return 0, fmt.Errorf("prune TAXII statuses: %w: index key %x", errTAXIIRecord, k)
		}
		id := k[len(prefix)+8:]
		if !full && maxBytes > 0 {
			n, err := d.taxiiStatusSize(it.Value(), id)
			if err != nil {
				return 0, fmt.Errorf("prune TAXII statuses: %w", err)
			}
			size += n
			full = size > maxBytes
		}
		if !full && readTime(k[len(prefix):]) >= cutoff && kept < keep {
			kept++
			continue
		}
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		if err := b.Delete(k, nil); err != nil {
			return 0, err
		}
		if err := b.Delete(append([]byte(taxiiStatus), id...), nil); err != nil {
			return 0, err
		}
	}
	if err := it.Error(); err != nil {
		return 0, fmt.Errorf("prune TAXII statuses: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	// Unsynced: a prune lost in a crash is redone by the next.
	if err := b.Commit(pebble.NoSync); err != nil {
		return 0, fmt.Errorf("prune TAXII statuses: %w", err)
	}
	return n, nil
}

// taxiiStatusSize is the size of a status record: its x/t value, else
// (an index entry of before sizes) the record's length.
func (d *DB) taxiiStatusSize(v, id []byte) (int64, error) {
	if len(v) == 8 {
		return int64(binary.BigEndian.Uint64(v)), nil
	}
	rec, _, err := d.get(append([]byte(taxiiStatus), id...))
	return int64(len(rec)), err
}

// indexTAXIIStatuses adds to x/t the statuses stored before it existed,
// once, so that they expire too.
func (d *DB) indexTAXIIStatuses(ctx context.Context) error {
	if _, done, err := d.get([]byte(taxiiStatusIndex)); err != nil || done {
		return err
	}
	b := d.db.NewBatch()
	defer b.Close()
	err := d.scan(ctx, []byte(taxiiStatus), func(k, v []byte) error {
		var r taxiiStatusRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode TAXII status %s: %w", k[len(taxiiStatus):], err)
		}
		return b.Set(taxiiStatusTimeKey(statusTime(r), string(k[len(taxiiStatus):])), binary.BigEndian.AppendUint64(nil, uint64(len(v))), nil)
	})
	if err != nil {
		return fmt.Errorf("index TAXII statuses: %w", err)
	}
	if err := b.Set([]byte(taxiiStatusIndex), nil, nil); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("index TAXII statuses: %w", err)
	}
	return nil
}

func taxiiCursorKey(peer, coll string) []byte {
	return append(append([]byte(taxiiCursors+peer), 0), coll...)
}

// TAXIICursor returns a poller's cursor, or the zero cursor.
func (d *DB) TAXIICursor(ctx context.Context, peer, coll string) (taxii.Cursor, error) {
	var c taxii.Cursor
	if err := ctx.Err(); err != nil {
		return c, err
	}
	v, ok, err := d.get(taxiiCursorKey(peer, coll))
	if err != nil || !ok {
		return c, err
	}
	if err := json.Unmarshal(v, &c); err != nil {
		return c, fmt.Errorf("decode TAXII cursor %s/%s: %w", peer, coll, err)
	}
	return c, nil
}

// PutTAXIICursor stores a poller's cursor, synced: it is what keeps a
// restarted poller from losing or repeating objects.
func (d *DB) PutTAXIICursor(ctx context.Context, peer, coll string, c taxii.Cursor) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("store TAXII cursor %s/%s: %w", peer, coll, err)
	}
	if err := d.db.Set(taxiiCursorKey(peer, coll), v, pebble.Sync); err != nil {
		return fmt.Errorf("store TAXII cursor %s/%s: %w", peer, coll, err)
	}
	return nil
}
