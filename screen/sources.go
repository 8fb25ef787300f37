package screen

import (
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/detect/exposure"
	"github.com/tracehound/tracehound/tags"
)

// SourceMasks returns the sources of exposure on chain c: each listed,
// attributed or flagged address with the categories it is a source of.
// A sanctions listing makes it sanctioned; an attribution its category
// and abuse type, if the attribution is at least as confident as the
// policy's minimum; a partner's flag makes it a source of stolen funds,
// since partners share thefts.
func (x *Index) SourceMasks(c chain.Chain) map[string]exposure.Mask {
	p := x.policy.Load()
	s, t, i := x.sanctions.Load(), x.tags.Load(), x.intel.Load()
	out := make(map[string]exposure.Mask)
	if s != nil {
		for k := range s.byKey {
			if k.Chain == c {
				out[k.Value] |= exposure.Bit(tags.Sanctioned)
			}
		}
	}
	if t != nil {
		for k, sp := range t.byKey {
			if k.Chain != c {
				continue
			}
			var m exposure.Mask
			for _, a := range t.items[sp.start : sp.start+sp.n] {
				if a.Confidence < p.MinConfidence {
					continue
				}
				m |= exposure.Bit(a.Category)
				if a.Abuse != "" {
					m |= exposure.Bit(tags.AbuseCategory(a.Abuse))
				}
			}
			if m != 0 {
				out[k.Value] |= m
			}
		}
	}
	if i != nil {
		for k := range i.byKey {
			if k.Chain == c {
				out[k.Value] |= exposure.Bit(tags.Hack)
			}
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
