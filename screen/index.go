// Package screen answers, for any address, whether it is sanctioned, who
// it is attributed to, what partners flagged it and how risky it is. The
// index lives in memory, is built from the store at start and is swapped
// layer by layer when a list, a tag source or a partner feed changes, so
// screening never waits on disk or on an import.
package screen

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracehound/tracehound/detect/exposure"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/registry"
	"github.com/tracehound/tracehound/sanctions"
	"github.com/tracehound/tracehound/tags"
)

// Sanction says an address is on an official list.
type Sanction struct {
	Source    string    `json:"source"`
	Asset     string    `json:"asset"`
	ListedAs  string    `json:"listed_as"`
	Party     string    `json:"party"`
	FixedRef  string    `json:"fixed_ref,omitempty"`
	Programs  []string  `json:"programs,omitempty"`
	ListDate  time.Time `json:"list_date"`
	FeatureID string    `json:"feature_id,omitempty"`
}

// Attribution says which entity an address belongs to, per one source.
type Attribution struct {
	Entity          string        `json:"entity"`
	Label           string        `json:"label,omitempty"`
	Category        tags.Category `json:"category"`
	Abuse           string        `json:"abuse,omitempty"`
	Source          string        `json:"source"`
	Pack            string        `json:"pack,omitempty"`
	Confidence      int           `json:"confidence"`
	ConfidenceLevel string        `json:"confidence_level,omitempty"`
	LastMod         time.Time     `json:"lastmod,omitzero"`
}

// IntelFlag says a partner shared an indicator naming the address.
type IntelFlag struct {
	Partner   string    `json:"partner"`
	Report    string    `json:"report,omitempty"`
	Indicator string    `json:"indicator"`
	Marking   string    `json:"marking,omitempty"` // TLP:CLEAR, TLP:GREEN, TLP:AMBER ...
	Category  string    `json:"category,omitempty"`
	Risk      Risk      `json:"risk"`
	Modified  time.Time `json:"modified,omitzero"`
}

// Hit is everything the index knows about one address. Its slices are
// shared with the index and must not be modified.
type Hit struct {
	Sanctions    []Sanction
	Attributions []Attribution
	Intel        []IntelFlag
	// Exposure is filled by Check, not Lookup, and belongs to the caller.
	Exposure []exposure.Entry
}

// Empty reports whether nothing is known about the address.
func (h Hit) Empty() bool {
	return len(h.Sanctions) == 0 && len(h.Attributions) == 0 && len(h.Intel) == 0
}

// span locates one address's items in a layer's flat slice.
type span struct{ start, n uint32 }

// layer is an immutable map from address to items: built in memory,
// laid out flat so that half a million tags cost one slice, not half a
// million; or read in place from a snapshot file (file).
type layer[T any] struct {
	items []T
	byKey map[chain.Key]span
	// byRaw finds addresses of chains without a codec by the string
	// alone: a BCH or LTC address listed as written matches a query that
	// names no chain, or that reads like a Bitcoin address.
	byRaw map[string][]chain.Key
	file  *fileLayer[T]
	meta  meta
	// dead counts the items no key spans any more (see changeIntel).
	dead int
}

// lookup is the in-memory look-up, the hot path: no error, no copy.
func (l *layer[T]) lookup(k chain.Key) []T {
	if l == nil {
		return nil
	}
	if s, ok := l.byKey[k]; ok {
		return l.items[s.start : s.start+s.n : s.start+s.n]
	}
	return nil
}

// find looks k up in memory or in the file.
func (l *layer[T]) find(k chain.Key) ([]T, error) {
	if l != nil && l.file != nil {
		return l.file.lookup(k)
	}
	return l.lookup(k), nil
}

// rawKeys returns the opaque keys listed under the string v.
func (l *layer[T]) rawKeys(v string) ([]chain.Key, error) {
	if l == nil {
		return nil, nil
	}
	if l.file != nil {
		if l.file.raw.count == 0 {
			return nil, nil
		}
		return l.file.rawKeys(v)
	}
	if len(l.byRaw) == 0 {
		return nil, nil
	}
	return l.byRaw[v], nil
}

// each calls fn with every key and its items.
func (l *layer[T]) each(fn func(k chain.Key, items []T) error) error {
	switch {
	case l == nil:
		return nil
	case l.file != nil:
		return l.file.each(fn)
	}
	for k, s := range l.byKey {
		if err := fn(k, l.items[s.start:s.start+s.n:s.start+s.n]); err != nil {
			return err
		}
	}
	return nil
}

func (l *layer[T]) size() int {
	switch {
	case l == nil:
		return 0
	case l.file != nil:
		return l.file.keys
	}
	return len(l.byKey)
}

func (l *layer[T]) count() int {
	switch {
	case l == nil:
		return 0
	case l.file != nil:
		return l.file.items
	}
	return len(l.items) - l.dead
}

// mapped is the file the layer is read from, nil if in memory.
func (l *layer[T]) mapped() *mapped {
	if l == nil || l.file == nil {
		return nil
	}
	return l.file.m
}

// keyed is an item with the address it belongs to, and the address as
// its source wrote it.
type keyed[T any] struct {
	addr chain.Address
	raw  string
	item T
}

// detected are the chains a query naming none is read as first: their
// addresses are found by key. Every other chain's listed addresses are
// also found by the string as written, since the same string can read as
// another chain's (a legacy Bitcoin Cash or Bitcoin SV address is a
// Bitcoin one, a Verge address a Dogecoin one).
func detected(c chain.Chain) bool {
	return c == chain.Bitcoin || c == chain.Ethereum || c == chain.Tron
}

// buildLayer groups items by address in two passes, keeping input order
// within an address.
func buildLayer[T any](in []keyed[T]) *layer[T] {
	l := &layer[T]{items: make([]T, len(in)), byKey: make(map[chain.Key]span, len(in))}
	for _, e := range in {
		k := e.addr.Key()
		s, seen := l.byKey[k]
		s.n++
		l.byKey[k] = s
		if !seen && (e.addr.Kind == chain.KindOpaque || !detected(k.Chain)) {
			if l.byRaw == nil {
				l.byRaw = make(map[string][]chain.Key)
			}
			l.byRaw[k.Value] = append(l.byRaw[k.Value], k)
			if e.raw != "" && e.raw != k.Value {
				l.byRaw[e.raw] = append(l.byRaw[e.raw], k)
			}
		}
	}
	var off uint32
	for k, s := range l.byKey {
		s.start = off
		off += s.n
		s.n = 0
		l.byKey[k] = s
	}
	for _, e := range in {
		k := e.addr.Key()
		s := l.byKey[k]
		l.items[s.start+s.n] = e.item
		s.n++
		l.byKey[k] = s
	}
	return l
}

// Index is the in-memory screening index. It is safe for concurrent use;
// readers never block on updates.
type Index struct {
	parser    *chain.Parser
	policy    atomic.Pointer[Policy]
	exposure  atomic.Pointer[exposureHolder]
	onChange  atomic.Pointer[func()]
	sanctions atomic.Pointer[layer[Sanction]]
	tags      atomic.Pointer[layer[Attribution]]
	intel     atomic.Pointer[layer[IntelFlag]]
	// intelMu orders the replacements of the intel layer: ChangeIntel
	// derives the next from the current.
	intelMu sync.Mutex
	// onFault rebuilds the layers when their snapshot fails a check;
	// faultMu makes concurrent look-ups that hit the fault wait for one
	// rebuild.
	onFault atomic.Pointer[func(error) error]
	faultMu sync.Mutex
}

// NewIndex returns an empty index rating by policy (DefaultPolicy if
// nil).
func NewIndex(p *chain.Parser, policy *Policy) *Index {
	if policy == nil {
		policy = DefaultPolicy()
	}
	x := &Index{parser: p}
	x.policy.Store(policy)
	return x
}

// Policy is the policy the index rates by.
func (x *Index) Policy() *Policy { return x.policy.Load() }

// SetPolicy replaces the policy; answers from then on use it.
func (x *Index) SetPolicy(p *Policy) {
	x.policy.Store(p)
	x.changed()
}

// ExposureSource answers an address's exposure from memory, with each
// entry's path to its source if paths is set. The entries it returns
// belong to the caller.
type ExposureSource interface {
	Exposure(a chain.Address, paths bool) []exposure.Entry
}

type exposureHolder struct{ src ExposureSource }

// SetExposure makes screening answers carry exposure from src, and rate
// it by the policy; nil stops it.
func (x *Index) SetExposure(src ExposureSource) { x.exposure.Store(&exposureHolder{src}) }

// ExposureChecker is an ExposureSource that can tell that it could not
// read an address's exposure (its saved accounts failed a check): the
// answer then fails closed instead of showing none.
type ExposureChecker interface {
	ExposureSource
	ExposureErr(a chain.Address, paths bool) ([]exposure.Entry, error)
}

func (x *Index) exposureOf(a chain.Address, paths bool) ([]exposure.Entry, error) {
	h := x.exposure.Load()
	if h == nil || h.src == nil || a.Kind == chain.KindOpaque {
		return nil, nil
	}
	if c, ok := h.src.(ExposureChecker); ok {
		return c.ExposureErr(a, paths)
	}
	return h.src.Exposure(a, paths), nil
}

// SanctionsLoaded reports whether a sanctions list is loaded: without
// one, screening cannot say that an address is not sanctioned.
func (x *Index) SanctionsLoaded() bool { return x.sanctions.Load().size() > 0 }

// Stats counts what the index holds.
type Stats struct {
	SanctionedAddresses int `json:"sanctioned_addresses"`
	TaggedAddresses     int `json:"tagged_addresses"`
	Tags                int `json:"tags"`
	IntelAddresses      int `json:"intel_addresses"`
}

// Stats returns the index's current sizes.
func (x *Index) Stats() Stats {
	t := x.tags.Load()
	st := Stats{
		SanctionedAddresses: x.sanctions.Load().size(),
		TaggedAddresses:     t.size(),
		IntelAddresses:      x.intel.Load().size(),
	}
	st.Tags = t.count()
	return st
}

// SetSanctions replaces the sanctions layer with the current list entries.
// An entry filed under the wrong asset is read by its shape; one that does
// not parse at all is kept as written under the asset's code, so that no
// listed address is ever dropped.
func (x *Index) SetSanctions(entries []sanctions.Entry) {
	in := make([]keyed[Sanction], 0, len(entries))
	for _, e := range entries {
		addr, _, err := registry.ParseListed(x.parser, e.Address, e.Asset)
		if err != nil {
			addr = chain.Opaque(chainForAsset(e.Asset), e.Address)
		}
		in = append(in, keyed[Sanction]{addr: addr, raw: strings.TrimSpace(e.Address), item: Sanction{
			Source:    e.Source,
			Asset:     e.Asset,
			ListedAs:  e.Address,
			Party:     e.Party.Name,
			FixedRef:  e.Party.FixedRef,
			Programs:  e.Party.Programs,
			ListDate:  e.ListDate,
			FeatureID: e.FeatureID,
		}})
	}
	x.sanctions.Store(buildLayer(in))
	x.changed()
}

// chainForAsset names the opaque chain an unparsable listed address is
// kept under.
func chainForAsset(asset string) chain.Chain {
	if c := chain.ParseChain(asset); c != "" {
		return c
	}
	return chain.Chain("asset:" + asset)
}

// SetTags replaces the attribution layer.
func (x *Index) SetTags(all []tags.Tag) {
	in := make([]keyed[Attribution], 0, len(all))
	for _, t := range all {
		in = append(in, keyed[Attribution]{addr: t.Address, raw: t.Address.Value, item: attributionOf(t)})
	}
	x.tags.Store(buildLayer(in))
	x.changed()
}

func attributionOf(t tags.Tag) Attribution {
	return Attribution{
		Entity:          t.Entity,
		Label:           t.Label,
		Category:        t.Category,
		Abuse:           t.Abuse,
		Source:          t.Source,
		Pack:            t.Pack,
		Confidence:      t.Confidence,
		ConfidenceLevel: t.ConfidenceLevel,
		LastMod:         t.LastMod,
	}
}

// IntelEntry is one partner flag on one address, as the intel domain
// hands it over.
type IntelEntry struct {
	Address chain.Address
	Flag    IntelFlag
}

// SetIntel replaces the shared-intelligence layer.
func (x *Index) SetIntel(entries []IntelEntry) {
	in := make([]keyed[IntelFlag], 0, len(entries))
	for _, e := range entries {
		in = append(in, keyed[IntelFlag]{addr: e.Address, raw: e.Address.Value, item: e.Flag})
	}
	l := buildLayer(in)
	x.intelMu.Lock()
	x.intel.Store(l)
	x.intelMu.Unlock()
	x.changed()
}

// Lookup returns what the index knows about a parsed address. It
// allocates only when the address is also listed as written under a chain
// without a codec, or the layers are read from a snapshot. Where a
// snapshot turns out corrupt, the layers are rebuilt (OnFault) and the
// address looked up again; if that fails too, the hit is what could be
// read, and Check and Screen answer Unknown.
func (x *Index) Lookup(a chain.Address) Hit {
	h, _ := x.LookupErr(a)
	return h
}

// LookupErr is Lookup, with the error that left the hit incomplete.
func (x *Index) LookupErr(a chain.Address) (Hit, error) {
	h, err := x.lookup(a)
	if err != nil && x.recover(err) {
		h, err = x.lookup(a)
	}
	return h, err
}

func (x *Index) lookup(a chain.Address) (Hit, error) {
	k := a.Key()
	s, t, i := x.sanctions.Load(), x.tags.Load(), x.intel.Load()
	if s.mapped() == nil && t.mapped() == nil && i.mapped() == nil {
		// The same string may be listed under an asset without a codec: a
		// legacy BCH address reads like a Bitcoin one.
		return Hit{
			Sanctions:    withRaw(s.lookup(k), s, k, a.Value),
			Attributions: withRaw(t.lookup(k), t, k, a.Value),
			Intel:        withRaw(i.lookup(k), i, k, a.Value),
		}, nil
	}
	var h Hit
	var err error
	if h.Sanctions, err = findAll(s, k, a.Value); err != nil {
		return h, err
	}
	if h.Attributions, err = findAll(t, k, a.Value); err != nil {
		return h, err
	}
	h.Intel, err = findAll(i, k, a.Value)
	return h, err
}

// withRaw adds to items those listed under the same string for another
// chain, in memory.
func withRaw[T any](items []T, l *layer[T], k chain.Key, v string) []T {
	if l == nil || len(l.byRaw) == 0 {
		return items
	}
	for _, rk := range l.byRaw[v] {
		if rk != k {
			items = appendShared(items, l.lookup(rk))
		}
	}
	return items
}

// findAll looks k up, and the keys listed under the same string.
func findAll[T any](l *layer[T], k chain.Key, v string) ([]T, error) {
	items, err := l.find(k)
	if err != nil {
		return nil, err
	}
	raw, err := l.rawKeys(v)
	if err != nil {
		return nil, err
	}
	for _, rk := range raw {
		if rk != k {
			more, err := l.find(rk)
			if err != nil {
				return nil, err
			}
			items = appendShared(items, more)
		}
	}
	return items, nil
}

// appendShared appends without writing into the index's shared backing array.
func appendShared[T any](dst, src []T) []T {
	return append(dst[:len(dst):len(dst)], src...)
}

// resolveUnknown finds a string that no codec recognises among the
// addresses listed as written under chains without a codec.
func (x *Index) resolveUnknown(raw string) (chain.Address, bool, error) {
	for _, find := range []func(string) ([]chain.Key, error){x.sanctions.Load().rawKeys, x.tags.Load().rawKeys, x.intel.Load().rawKeys} {
		keys, err := find(raw)
		if err != nil {
			return chain.Address{}, false, err
		}
		if len(keys) > 0 {
			return chain.Opaque(keys[0].Chain, raw), true, nil
		}
	}
	return chain.Address{}, false, nil
}
