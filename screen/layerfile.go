package screen

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/tags"
)

// A layer's section:
//
//	records   a table keyed by (chain, address): uvarint n, n items
//	raw       a table keyed by (string as written, ""): uvarint n, n ×
//	          (chain, address), the keys listed under that string
//	strings   the distinct strings items name, then their count+1 offsets
//	footer    layerFooter's fields, 8 bytes each
//
// Items refer to strings by index: a tag pack's source, category and
// entity repeat over thousands of tags.
const layerMagic = 0x314c5258444e4854 // "THNDXRL1"

// layerFooter locates a layer's parts in its section.
type layerFooter struct {
	magic, kind     uint64
	keys, items     uint64
	recs, raw       tableMeta
	nstr            uint64
	strData, strOff uint64
}

const footerLen = 15 * 8

func (f *layerFooter) fields() []*uint64 {
	return []*uint64{&f.magic, &f.kind, &f.keys, &f.items,
		&f.recs.count, &f.recs.offsOff, &f.recs.nslots, &f.recs.slotsOff,
		&f.raw.count, &f.raw.offsOff, &f.raw.nslots, &f.raw.slotsOff,
		&f.nstr, &f.strData, &f.strOff}
}

// layerKind names the item type a section holds, so that a section is
// never read as another layer's.
type layerKind uint64

const (
	kindSanctions layerKind = iota + 1
	kindTags
	kindIntel
)

// codec writes and reads one layer's items.
type codec[T any] struct {
	kind   layerKind
	encode func(e *itemEncoder, it *T)
	decode func(d *itemDecoder, it *T)
}

// itemEncoder appends items to a record, interning their strings.
type itemEncoder struct {
	b    []byte
	ids  map[string]uint64
	strs []string
}

func (e *itemEncoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *itemEncoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }

func (e *itemEncoder) str(s string) {
	id, ok := e.ids[s]
	if !ok {
		id = uint64(len(e.strs))
		e.ids[s] = id
		e.strs = append(e.strs, s)
	}
	e.uvarint(id)
}

// time writes t exactly, its zone included, as MarshalBinary does; the
// zero time is an empty string.
func (e *itemEncoder) time(t time.Time) {
	if t == (time.Time{}) {
		e.uvarint(0)
		return
	}
	b, err := t.MarshalBinary()
	if err != nil { // an offset that is not whole minutes: keep the instant
		b, _ = t.UTC().MarshalBinary()
	}
	e.uvarint(uint64(len(b)))
	e.b = append(e.b, b...)
}

// itemDecoder reads items; the first failure sticks.
type itemDecoder struct {
	r    reader
	strs *strTable
	err  error
}

func (d *itemDecoder) str() string {
	id := d.r.uvarint()
	if d.r.err || d.err != nil {
		return ""
	}
	s, err := d.strs.get(id)
	if err != nil {
		d.err = err
	}
	return s
}

func (d *itemDecoder) time() time.Time {
	b := d.r.bytes()
	if len(b) == 0 {
		return time.Time{}
	}
	var t time.Time
	if err := t.UnmarshalBinary(b); err != nil {
		d.r.err = true
	}
	return t
}

var sanctionCodec = codec[Sanction]{
	kind: kindSanctions,
	encode: func(e *itemEncoder, s *Sanction) {
		for _, v := range []string{s.Source, s.Asset, s.ListedAs, s.Party, s.FixedRef, s.FeatureID} {
			e.str(v)
		}
		e.uvarint(uint64(len(s.Programs)))
		if s.Programs != nil {
			e.uvarint(1)
		} else {
			e.uvarint(0)
		}
		for _, p := range s.Programs {
			e.str(p)
		}
		e.time(s.ListDate)
	},
	decode: func(d *itemDecoder, s *Sanction) {
		for _, v := range []*string{&s.Source, &s.Asset, &s.ListedAs, &s.Party, &s.FixedRef, &s.FeatureID} {
			*v = d.str()
		}
		n := d.r.count(1)
		if d.r.uvarint() == 1 {
			s.Programs = make([]string, n)
		}
		for i := range n {
			p := d.str()
			if s.Programs != nil {
				s.Programs[i] = p
			}
		}
		s.ListDate = d.time()
	},
}

var attributionCodec = codec[Attribution]{
	kind: kindTags,
	encode: func(e *itemEncoder, a *Attribution) {
		for _, v := range []string{a.Entity, a.Label, string(a.Category), a.Abuse, a.Source, a.Pack, a.ConfidenceLevel} {
			e.str(v)
		}
		e.varint(int64(a.Confidence))
		e.time(a.LastMod)
	},
	decode: func(d *itemDecoder, a *Attribution) {
		var cat string
		for _, v := range []*string{&a.Entity, &a.Label, &cat, &a.Abuse, &a.Source, &a.Pack, &a.ConfidenceLevel} {
			*v = d.str()
		}
		a.Category = tags.Category(cat)
		a.Confidence = int(d.r.varint())
		a.LastMod = d.time()
	},
}

var intelCodec = codec[IntelFlag]{
	kind: kindIntel,
	encode: func(e *itemEncoder, f *IntelFlag) {
		for _, v := range []string{f.Partner, f.Report, f.Indicator, f.Marking, f.Category} {
			e.str(v)
		}
		e.uvarint(uint64(f.Risk))
		e.time(f.Modified)
	},
	decode: func(d *itemDecoder, f *IntelFlag) {
		for _, v := range []*string{&f.Partner, &f.Report, &f.Indicator, &f.Marking, &f.Category} {
			*v = d.str()
		}
		f.Risk = Risk(min(d.r.uvarint(), 255))
		f.Modified = d.time()
	},
}

// strTable is a layer's strings.
type strTable struct {
	m             *mapped
	base          uint64
	n             uint64
	data, offsOff uint64
}

func (s *strTable) get(id uint64) (string, error) {
	if id >= s.n {
		return "", s.m.corrupt("string %d of %d", id, s.n)
	}
	ob, err := s.m.bytes(s.base+s.offsOff+8*id, 16)
	if err != nil {
		return "", err
	}
	lo, hi := binary.LittleEndian.Uint64(ob), binary.LittleEndian.Uint64(ob[8:])
	if hi < lo || hi > s.offsOff-s.data {
		return "", s.m.corrupt("string %d at %d-%d", id, lo, hi)
	}
	b, err := s.m.bytes(s.base+s.data+lo, hi-lo)
	return string(b), err
}

// fileLayer is a layer read in place from a snapshot. Its answers are
// copies: nothing refers to the mapping once a look-up returns.
type fileLayer[T any] struct {
	m           *mapped
	sec         section
	recs, raw   *table
	strs        strTable
	keys, items int
	codec       codec[T]
}

// openLayer checks a layer section's footer and opens its tables.
func openLayer[T any](m *mapped, sec section, c codec[T]) (*fileLayer[T], error) {
	if sec.len < footerLen {
		return nil, m.corrupt("section %s of %d bytes", sec.name, sec.len)
	}
	fb, err := m.bytes(sec.off+sec.len-footerLen, footerLen)
	if err != nil {
		return nil, err
	}
	var f layerFooter
	for i, p := range f.fields() {
		*p = binary.LittleEndian.Uint64(fb[8*i:])
	}
	body := sec.len - footerLen
	switch {
	case f.magic != layerMagic:
		return nil, m.corrupt("section %s: not a layer", sec.name)
	case layerKind(f.kind) != c.kind:
		return nil, m.corrupt("section %s holds layer kind %d, want %d", sec.name, f.kind, c.kind)
	case f.keys != f.recs.count || f.items > body || f.keys > f.items:
		return nil, m.corrupt("section %s: %d keys, %d items", sec.name, f.keys, f.items)
	case f.strData > body || f.strOff > body || f.strOff < f.strData || f.nstr+1 > (body-f.strOff)/8:
		return nil, m.corrupt("section %s: strings beyond the section", sec.name)
	}
	l := &fileLayer[T]{m: m, sec: sec, keys: int(f.keys), items: int(f.items), codec: c,
		strs: strTable{m: m, base: sec.off, n: f.nstr, data: f.strData, offsOff: f.strOff}}
	if l.recs, err = openTable(m, sec.off, body, f.recs); err != nil {
		return nil, err
	}
	if l.raw, err = openTable(m, sec.off, body, f.raw); err != nil {
		return nil, err
	}
	return l, nil
}

// items decodes a record's items.
func (l *fileLayer[T]) decode(val []byte) ([]T, error) {
	d := itemDecoder{r: reader{b: val}, strs: &l.strs}
	n := d.r.count(1)
	var out []T
	if n > 0 {
		out = make([]T, n)
	}
	for i := range out {
		l.codec.decode(&d, &out[i])
	}
	if d.err != nil {
		return nil, d.err
	}
	if d.r.err || len(d.r.b) != 0 {
		return nil, l.m.corrupt("section %s: items do not decode", l.sec.name)
	}
	return out, nil
}

func (l *fileLayer[T]) lookup(k chain.Key) ([]T, error) {
	val, ok, err := l.recs.get(string(k.Chain), k.Value)
	if err != nil || !ok {
		return nil, err
	}
	return l.decode(val)
}

func (l *fileLayer[T]) rawKeys(v string) ([]chain.Key, error) {
	val, ok, err := l.raw.get(v, "")
	if err != nil || !ok {
		return nil, err
	}
	r := reader{b: val}
	n := r.count(2)
	out := make([]chain.Key, 0, n)
	for range n {
		out = append(out, chain.Key{Chain: chain.Chain(r.bytes()), Value: string(r.bytes())})
	}
	if r.err || len(r.b) != 0 {
		return nil, l.m.corrupt("section %s: raw keys of %q do not decode", l.sec.name, v)
	}
	return out, nil
}

// each calls fn with every key and its items.
func (l *fileLayer[T]) each(fn func(k chain.Key, items []T) error) error {
	return l.recs.each(func(a, b, val []byte) error {
		items, err := l.decode(val)
		if err != nil {
			return err
		}
		return fn(chain.Key{Chain: chain.Chain(a), Value: string(b)}, items)
	})
}

// writeLayer writes a layer's section: a file layer's bytes as they are,
// a memory layer's encoded.
func writeLayer[T any](w *snapWriter, name string, l *layer[T], c codec[T]) error {
	if l != nil && l.file != nil {
		return copySection(w, name, l.file.m, l.file.sec)
	}
	if err := w.begin(name); err != nil {
		return err
	}
	e := &itemEncoder{ids: make(map[string]uint64)}
	f := layerFooter{magic: layerMagic, kind: uint64(c.kind)}
	tw := tableWriter{w: w}
	var rec []byte
	if l != nil {
		f.keys, f.items = uint64(len(l.byKey)), uint64(l.count())
		for k, s := range l.byKey {
			rec = appendKey(rec[:0], string(k.Chain), k.Value)
			e.b = binary.AppendUvarint(rec, uint64(s.n))
			for i := range l.items[s.start : s.start+s.n] {
				c.encode(e, &l.items[s.start+uint32(i)])
			}
			rec = e.b
			if err := tw.add(hashKey(string(k.Chain), k.Value), rec); err != nil {
				return err
			}
		}
	}
	var err error
	if f.recs, err = tw.finish(); err != nil {
		return err
	}
	tw = tableWriter{w: w}
	if l != nil {
		for v, keys := range l.byRaw {
			rec = appendKey(rec[:0], v, "")
			rec = binary.AppendUvarint(rec, uint64(len(keys)))
			for _, k := range keys {
				rec = appendString(rec, string(k.Chain))
				rec = appendString(rec, k.Value)
			}
			if err := tw.add(hashKey(v, ""), rec); err != nil {
				return err
			}
		}
	}
	if f.raw, err = tw.finish(); err != nil {
		return err
	}
	f.nstr, f.strData = uint64(len(e.strs)), w.pos()
	offs := make([]uint64, 0, len(e.strs)+1)
	var at uint64
	for _, s := range e.strs {
		offs = append(offs, at)
		if _, err := w.Write([]byte(s)); err != nil {
			return err
		}
		at += uint64(len(s))
	}
	offs = append(offs, at)
	if err := w.align(); err != nil {
		return err
	}
	f.strOff = w.pos()
	if err := w.u64s(offs); err != nil {
		return err
	}
	var fb [footerLen]byte
	for i, p := range f.fields() {
		binary.LittleEndian.PutUint64(fb[8*i:], *p)
	}
	if _, err := w.Write(fb[:]); err != nil {
		return err
	}
	w.end()
	return nil
}

// copySection copies a section of an open snapshot into the one being
// written, checking its blocks as it reads them.
func copySection(w *snapWriter, name string, m *mapped, sec section) error {
	if err := w.begin(name); err != nil {
		return err
	}
	for off := uint64(0); off < sec.len; {
		n := min(sec.len-off, 1<<20)
		b, err := m.bytes(sec.off+off, n)
		if err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		off += n
	}
	w.end()
	return nil
}

func appendKey(b []byte, a, k string) []byte {
	return appendString(appendString(b, a), k)
}

// tableWriter streams a table's records into the current section, then
// its offsets and slots.
type tableWriter struct {
	w      *snapWriter
	offs   []uint64
	hashes []uint64
}

func (t *tableWriter) add(h uint64, rec []byte) error {
	if len(t.offs) >= 1<<32-2 {
		return fmt.Errorf("snapshot table of more than %d records", len(t.offs))
	}
	t.offs = append(t.offs, t.w.pos())
	t.hashes = append(t.hashes, h)
	_, err := t.w.Write(rec)
	return err
}

func (t *tableWriter) finish() (tableMeta, error) {
	m := tableMeta{count: uint64(len(t.hashes))}
	end := t.w.pos()
	if err := t.w.align(); err != nil {
		return m, err
	}
	m.offsOff = t.w.pos()
	if err := t.w.u64s(append(t.offs, end)); err != nil {
		return m, err
	}
	slots := buildSlots(t.hashes)
	m.nslots, m.slotsOff = uint64(len(slots)), t.w.pos()
	return m, t.w.u64s(slots)
}
