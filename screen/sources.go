package screen

import (
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/detect/exposure"
)

// SourceMasks returns the sources of exposure on chain c: each listed,
// attributed or flagged address with the categories it is a source of.
// A sanctions listing makes it sanctioned; an attribution its category
// and abuse type, if the attribution is at least as confident as the
// policy's minimum; a partner's flag makes it a source of stolen funds,
// since partners share thefts. Layers.Sources answers the same address
// by address.
func (x *Index) SourceMasks(c chain.Chain) map[string]exposure.Mask {
	return x.Layers().SourceMasks(c)
}

// SourceMasks is Index.SourceMasks of these layers; a failure to read
// them is kept for Err.
func (l *Layers) SourceMasks(c chain.Chain) map[string]exposure.Mask {
	out := make(map[string]exposure.Mask)
	add := func(k chain.Key) error {
		if k.Chain != c {
			return nil
		}
		if _, done := out[k.Value]; done {
			return nil
		}
		m, err := l.mask(k)
		if err == nil && m != 0 {
			out[k.Value] = m
		}
		return err
	}
	for _, err := range []error{
		l.s.each(func(k chain.Key, _ []Sanction) error { return add(k) }),
		l.t.each(func(k chain.Key, _ []Attribution) error { return add(k) }),
		l.i.each(func(k chain.Key, _ []IntelFlag) error { return add(k) }),
	} {
		if err != nil {
			l.fault.CompareAndSwap(nil, &err)
		}
	}
	return out
}

// MaskSources adapts a SourceMasks map to the engine.
type MaskSources map[string]exposure.Mask

// Mask is the address's categories.
func (m MaskSources) Mask(_ chain.Chain, addr string) exposure.Mask { return m[addr] }

// OnChange has fn called after each change of a layer (sanctions,
// attributions, intelligence) or of the policy, on the changing
// goroutine: exposure rebuilds its sources then.
func (x *Index) OnChange(fn func()) { x.onChange.Store(&fn) }

func (x *Index) changed() {
	if fn := x.onChange.Load(); fn != nil {
		(*fn)()
	}
}
