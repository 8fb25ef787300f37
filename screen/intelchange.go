package screen

import (
	"maps"
	"slices"

	"github.com/tracehound/tracehound/chain"
)

// IntelChange is every flag one address now has; none means it is no
// longer flagged.
type IntelChange struct {
	Address chain.Address
	Flags   []IntelFlag
}

// ChangeIntel replaces the flags of the addresses in changes and keeps
// every other address's, in one swap: it costs a copy of the address map
// and the changed flags, where SetIntel rebuilds every flag held, so that
// a partner's report arriving page by page is not re-indexed whole for
// each page. An address listed twice takes its last change. It reports
// false, changing nothing, when the layer is read from a snapshot file:
// the caller then sets the layer whole.
func (x *Index) ChangeIntel(changes []IntelChange) bool {
	x.intelMu.Lock()
	defer x.intelMu.Unlock()
	old := x.intel.Load()
	if old != nil && old.file != nil {
		return false
	}
	if len(changes) == 0 {
		return true
	}
	x.intel.Store(changeIntel(old, changes))
	x.changed()
	return true
}

// changeIntel returns a layer holding l's items with changes applied. The new
// flags are appended after l's items in the backing array l shares with
// its successor: l's readers never look past their own length, and
// layers change one after another (Index.intelMu), so nothing a reader
// sees is written. Replaced items stay in the array as dead ones until
// they are half of it, when the live ones are copied out.
func changeIntel(l *layer[IntelFlag], changes []IntelChange) *layer[IntelFlag] {
	nl := &layer[IntelFlag]{}
	if l != nil {
		nl.items, nl.dead = l.items, l.dead
		nl.byKey = maps.Clone(l.byKey)
		nl.byRaw = l.byRaw
	}
	if nl.byKey == nil {
		nl.byKey = make(map[chain.Key]span, len(changes))
	}
	rawCloned := false
	raw := func() map[string][]chain.Key {
		if !rawCloned {
			nl.byRaw, rawCloned = maps.Clone(nl.byRaw), true
			if nl.byRaw == nil {
				nl.byRaw = make(map[string][]chain.Key)
			}
		}
		return nl.byRaw
	}
	for _, c := range changes {
		k := c.Address.Key()
		old, had := nl.byKey[k]
		if had {
			nl.dead += int(old.n)
		}
		// Found by the string as written: an address of a chain without
		// a codec, as buildLayer lists it.
		byRaw := c.Address.Kind == chain.KindOpaque || !detected(k.Chain)
		switch {
		case len(c.Flags) == 0:
			if !had {
				continue
			}
			delete(nl.byKey, k)
			if byRaw {
				r := raw()
				for _, v := range []string{k.Value, c.Address.Value} {
					if keys := slices.DeleteFunc(slices.Clone(r[v]), func(o chain.Key) bool { return o == k }); len(keys) > 0 {
						r[v] = keys
					} else {
						delete(r, v)
					}
				}
			}
		default:
			nl.byKey[k] = span{start: uint32(len(nl.items)), n: uint32(len(c.Flags))}
			nl.items = append(nl.items, c.Flags...)
			if !had && byRaw {
				r := raw()
				r[k.Value] = append(slices.Clip(r[k.Value]), k)
				if c.Address.Value != "" && c.Address.Value != k.Value {
					r[c.Address.Value] = append(slices.Clip(r[c.Address.Value]), k)
				}
			}
		}
	}
	if nl.dead > 1024 && nl.dead > len(nl.items)/2 {
		nl.compact()
	}
	return nl
}

// compact copies the live items into a new array.
func (l *layer[T]) compact() {
	items := make([]T, 0, len(l.items)-l.dead)
	for k, s := range l.byKey {
		start := uint32(len(items))
		items = append(items, l.items[s.start:s.start+s.n]...)
		l.byKey[k] = span{start: start, n: s.n}
	}
	l.items, l.dead = items, 0
}
