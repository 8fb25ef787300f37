package screen

import (
	"encoding/binary"
	"math/bits"
)

// A table is an immutable hash table in a snapshot: records, each a key
// of two strings and a value, found through open-addressed slots.
//
//	records   record i at offs[i]: uvarint len(a), a, uvarint len(b), b, value
//	offs      count+1 little-endian uint64s, relative to the section
//	slots     nslots (a power of two) uint64s: the key hash's high 32 bits
//	          and the record's index plus one; 0 is an empty slot
//
// A look-up reads one or two slots, two offsets and the record: three or
// four pages of a file that may be hundreds of megabytes.
type table struct {
	m        *mapped
	base     uint64 // the section's offset in the file
	count    uint64
	offsOff  uint64
	nslots   uint64
	slotsOff uint64
}

// tableMeta is what a table's footer records of it, relative to its section.
type tableMeta struct {
	count, offsOff, nslots, slotsOff uint64
}

// hashKey hashes a key of two strings: FNV-1a, then a finaliser so that
// the low bits (the slot) and the high bits (the tag) are both well mixed.
// It is part of the format: a snapshot written by one process is read by
// another.
func hashKey(a, b string) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	for i := 0; i < len(a); i++ {
		h = (h ^ uint64(a[i])) * prime
	}
	h = (h ^ 0xff) * prime
	for i := 0; i < len(b); i++ {
		h = (h ^ uint64(b[i])) * prime
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// slotCount sizes a table of n records at most two-thirds full.
func slotCount(n int) uint64 {
	want := uint64(n) + uint64(n)/2 + 1
	return 1 << bits.Len64(want-1)
}

// buildSlots places records by their hashes.
func buildSlots(hashes []uint64) []uint64 {
	n := slotCount(len(hashes))
	slots := make([]uint64, n)
	for i, h := range hashes {
		s := h & (n - 1)
		for slots[s] != 0 {
			s = (s + 1) & (n - 1)
		}
		slots[s] = (h>>32)<<32 | uint64(i+1)
	}
	return slots
}

// record returns record i's bytes.
func (t *table) record(i uint64) ([]byte, error) {
	if i >= t.count {
		return nil, t.m.corrupt("record %d of %d", i, t.count)
	}
	ob, err := t.m.bytes(t.base+t.offsOff+8*i, 16)
	if err != nil {
		return nil, err
	}
	lo, hi := binary.LittleEndian.Uint64(ob), binary.LittleEndian.Uint64(ob[8:])
	if hi < lo || hi > t.offsOff {
		return nil, t.m.corrupt("record %d at %d-%d", i, lo, hi)
	}
	return t.m.bytes(t.base+lo, hi-lo)
}

// splitRecord splits a record into its key and its value.
func splitRecord(rec []byte) (a, b, val []byte, ok bool) {
	r := reader{b: rec}
	a = r.bytes()
	b = r.bytes()
	if r.err {
		return nil, nil, nil, false
	}
	return a, b, r.b, true
}

// get finds the value of key (a, b).
func (t *table) get(a, b string) ([]byte, bool, error) {
	if t == nil || t.count == 0 {
		return nil, false, nil
	}
	h := hashKey(a, b)
	mask := t.nslots - 1
	for s, probes := h&mask, uint64(0); probes < t.nslots; s, probes = (s+1)&mask, probes+1 {
		v, err := t.m.u64(t.base + t.slotsOff + 8*s)
		if err != nil {
			return nil, false, err
		}
		if v == 0 {
			return nil, false, nil
		}
		if v>>32 != h>>32 {
			continue
		}
		rec, err := t.record(uint64(uint32(v)) - 1)
		if err != nil {
			return nil, false, err
		}
		ka, kb, val, ok := splitRecord(rec)
		if !ok {
			return nil, false, t.m.corrupt("record key")
		}
		if string(ka) == a && string(kb) == b {
			return val, true, nil
		}
	}
	return nil, false, nil
}

// each calls fn with every record's key and value, in file order.
func (t *table) each(fn func(a, b, val []byte) error) error {
	if t == nil {
		return nil
	}
	for i := uint64(0); i < t.count; i++ {
		rec, err := t.record(i)
		if err != nil {
			return err
		}
		a, b, val, ok := splitRecord(rec)
		if !ok {
			return t.m.corrupt("record %d key", i)
		}
		if err := fn(a, b, val); err != nil {
			return err
		}
	}
	return nil
}

// openTable checks a table's footer fields against its section's length.
func openTable(m *mapped, base, secLen uint64, meta tableMeta) (*table, error) {
	t := &table{m: m, base: base, count: meta.count, offsOff: meta.offsOff, nslots: meta.nslots, slotsOff: meta.slotsOff}
	switch {
	case meta.count >= 1<<32-1:
		return nil, m.corrupt("table of %d records", meta.count)
	case meta.nslots == 0 || meta.nslots&(meta.nslots-1) != 0 || meta.nslots <= meta.count:
		return nil, m.corrupt("table of %d slots for %d records", meta.nslots, meta.count)
	case meta.offsOff > secLen || (meta.count+1) > (secLen-meta.offsOff)/8:
		return nil, m.corrupt("table offsets beyond the section")
	case meta.slotsOff > secLen || meta.nslots > (secLen-meta.slotsOff)/8:
		return nil, m.corrupt("table slots beyond the section")
	}
	return t, nil
}

// reader decodes a record; the first failure sticks and returns zeros.
type reader struct {
	b   []byte
	err bool
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err || n > uint64(len(r.b)) {
		r.err, r.b = true, nil
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.err = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// count reads a count of items each at least min bytes long, refusing
// one the rest of the record cannot hold, so that a corrupt count never
// allocates.
func (r *reader) count(min int) int {
	n := r.uvarint()
	if r.err || n > uint64(len(r.b)/max(min, 1)) {
		r.err, r.b = true, nil
		return 0
	}
	return int(n)
}
