package screen

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/detect/exposure"
	"github.com/tracehound/tracehound/tags"
)

// Layer names one of the index's layers.
type Layer int

// The layers.
const (
	LayerSanctions Layer = iota
	LayerTags
	LayerIntel
)

func (l Layer) String() string {
	switch l {
	case LayerSanctions:
		return "sanctions"
	case LayerTags:
		return "tags"
	case LayerIntel:
		return "intel"
	}
	return fmt.Sprintf("layer(%d)", int(l))
}

// Versions name what each layer was built from: the identities of its
// inputs, which the node computes (a list version and its hash, a
// sequence of tag imports, the newest intelligence object of each
// collection) and a snapshot records. "" is unknown: a snapshot layer
// of unknown version is never reused.
type Versions struct {
	Sanctions, Tags, Intel string
}

// meta is what a layer carries beside its items: its version, and the
// digest of what exposure reads of it, computed once.
type meta struct {
	version atomic.Pointer[string]
	digest  atomic.Pointer[string]
}

func (m *meta) get() string {
	if p := m.version.Load(); p != nil {
		return *p
	}
	return ""
}

// SetVersion names what the current layer l was built from. The node
// calls it under the lock it holds while it replaces the layer, so that
// the version is the replacement's.
func (x *Index) SetVersion(l Layer, v string) {
	switch l {
	case LayerSanctions:
		if y := x.sanctions.Load(); y != nil {
			y.meta.version.Store(&v)
		}
	case LayerTags:
		if y := x.tags.Load(); y != nil {
			y.meta.version.Store(&v)
		}
	case LayerIntel:
		if y := x.intel.Load(); y != nil {
			y.meta.version.Store(&v)
		}
	}
}

// Versions are the current layers' versions.
func (x *Index) Versions() Versions {
	return x.Layers().Versions()
}

// Layers is the index's layers and policy at one moment: what an
// exposure build follows, and what a snapshot records.
type Layers struct {
	s *layer[Sanction]
	t *layer[Attribution]
	i *layer[IntelFlag]
	p *Policy
	// fault is the first failure to read the layers.
	fault *atomic.Pointer[error]
}

// Layers returns the current layers.
func (x *Index) Layers() *Layers {
	return &Layers{s: x.sanctions.Load(), t: x.tags.Load(), i: x.intel.Load(), p: x.policy.Load(), fault: new(atomic.Pointer[error])}
}

// Versions are the layers' versions.
func (l *Layers) Versions() Versions {
	v := Versions{}
	if l.s != nil {
		v.Sanctions = l.s.meta.get()
	}
	if l.t != nil {
		v.Tags = l.t.meta.get()
	}
	if l.i != nil {
		v.Intel = l.i.meta.get()
	}
	return v
}

// Same reports whether o holds the very layers of l, under a policy with
// the same exposure parameters.
func (l *Layers) Same(o *Layers) bool {
	return l.s == o.s && l.t == o.t && l.i == o.i && l.p.ExposureKey() == o.p.ExposureKey()
}

// MaxHops is how far the policy follows exposure.
func (l *Layers) MaxHops() int { return l.p.MaxHops }

// Policy is the layers' policy.
func (l *Layers) Policy() *Policy { return l.p }

// Err is the first failure to read the layers through Sources: an
// exposure build that met one followed wrong sources.
func (l *Layers) Err() error {
	if p := l.fault.Load(); p != nil {
		return *p
	}
	return nil
}

// Sources names each address's categories from these layers, as
// SourceMasks does, reading the layers on demand: a restored engine
// catches up with a few blocks without reading every tag.
func (l *Layers) Sources() exposure.Sources {
	return exposure.SourcesFunc(func(c chain.Chain, addr string) exposure.Mask {
		m, err := l.mask(chain.Key{Chain: c, Value: addr})
		if err != nil {
			l.fault.CompareAndSwap(nil, &err)
		}
		return m
	})
}

// mask is the categories key is a source of: sanctioned if listed, its
// attributions' categories and abuse types at the policy's minimum
// confidence or above, stolen funds if a partner flagged it.
func (l *Layers) mask(k chain.Key) (exposure.Mask, error) {
	var m exposure.Mask
	ss, err := l.s.find(k)
	if err != nil {
		return 0, err
	}
	if len(ss) > 0 {
		m |= exposure.Bit(tags.Sanctioned)
	}
	ts, err := l.t.find(k)
	if err != nil {
		return 0, err
	}
	m |= attributionMask(ts, l.p.MinConfidence)
	is, err := l.i.find(k)
	if err != nil {
		return 0, err
	}
	if len(is) > 0 {
		m |= exposure.Bit(tags.Hack)
	}
	return m, nil
}

func attributionMask(as []Attribution, minConfidence int) exposure.Mask {
	var m exposure.Mask
	for i := range as {
		a := &as[i]
		if a.Confidence < minConfidence {
			continue
		}
		m |= exposure.Bit(a.Category)
		if a.Abuse != "" {
			m |= exposure.Bit(tags.AbuseCategory(a.Abuse))
		}
	}
	return m
}

// ExposureKey is what of the policy exposure depends on: the confidence
// an attribution needs to make a source, and how far taint is followed.
// The rules rate exposure when it is read, so changing them keeps the
// engines.
func (p *Policy) ExposureKey() string {
	return fmt.Sprintf("min_confidence=%d max_hops=%d", p.MinConfidence, p.MaxHops)
}

// Digest identifies what exposure reads of the layers under their
// policy: the listed, attributed (with category, abuse type and
// confidence) and flagged addresses. Engines built from layers with the
// same digest hold the same accounts, whatever else changed (a flag's
// report, an entity's name).
func (l *Layers) Digest() (string, error) {
	h := sha256.New()
	h.Write([]byte(l.p.ExposureKey()))
	for _, d := range []func() (string, error){l.s.digest, l.t.digest, l.i.digest} {
		s, err := d()
		if err != nil {
			return "", err
		}
		h.Write([]byte{0})
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// digest hashes what exposure reads of the layer, in key order; computed
// once for a layer built in memory, recorded for one read from a file.
func (l *layer[T]) digest() (string, error) {
	if l == nil {
		return "", nil
	}
	if p := l.meta.digest.Load(); p != nil {
		return *p, nil
	}
	type entry struct {
		key   string
		items []string
	}
	var all []entry
	err := l.each(func(k chain.Key, items []T) error {
		e := entry{key: string(k.Chain) + "\x00" + k.Value}
		for i := range items {
			if a, ok := any(&items[i]).(*Attribution); ok {
				e.items = append(e.items, fmt.Sprintf("%s\x00%s\x00%d", a.Category, a.Abuse, a.Confidence))
			}
		}
		slices.Sort(e.items)
		all = append(all, e)
		return nil
	})
	if err != nil {
		return "", err
	}
	slices.SortFunc(all, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, e := range all {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(e.key)))])
		h.Write([]byte(e.key))
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(e.items)))])
		for _, it := range e.items {
			h.Write(n[:binary.PutUvarint(n[:], uint64(len(it)))])
			h.Write([]byte(it))
		}
	}
	s := hex.EncodeToString(h.Sum(nil))
	l.meta.digest.Store(&s)
	return s, nil
}
