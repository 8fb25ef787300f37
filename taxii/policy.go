package taxii

import (
	"context"

	"github.com/tracehound/tracehound/intel"
)

// Policy decides whether an object may be served to a partner. The server
// consults it for every object it would send (objects, manifests and
// versions alike), after the collection's access list.
type Policy interface {
	Allow(ctx context.Context, partner string, c Collection, o Object) bool
}

// PolicyFunc adapts a function to Policy.
type PolicyFunc func(ctx context.Context, partner string, c Collection, o Object) bool

// Allow calls f.
func (f PolicyFunc) Allow(ctx context.Context, partner string, c Collection, o Object) bool {
	return f(ctx, partner, c, o)
}

// ObjectTLP returns the most restrictive TLP level among an object's
// markings, the fixed TLP 1.0 and 2.0 marking ids (an object marked both
// GREEN and RED is RED); 0, not a level, if it has none.
func ObjectTLP(o Object) intel.TLP {
	var level intel.TLP
	for _, m := range o.Markings {
		if l, ok := intel.TLPFromMarkingID(m); ok {
			level = max(level, l)
		}
	}
	return level
}

// TLPPolicy is the default policy: TLP:RED is never served; TLP:AMBER and
// AMBER+STRICT go only to partners the collection's CanRead names
// explicitly (Everyone does not count); CLEAR and GREEN go to any reader.
type TLPPolicy struct {
	// Unmarked is the level assumed for objects without a TLP marking.
	// The zero value assumes TLP:AMBER, so that nothing unmarked reaches
	// partners a collection does not name.
	Unmarked intel.TLP
}

// Allow applies the policy.
func (p TLPPolicy) Allow(_ context.Context, partner string, c Collection, o Object) bool {
	level := ObjectTLP(o)
	if level == 0 {
		level = p.Unmarked
		if level == 0 {
			level = intel.TLPAmber
		}
	}
	switch level {
	case intel.TLPClear, intel.TLPGreen:
		return c.CanBeReadBy(partner)
	case intel.TLPAmber, intel.TLPAmberStrict:
		return c.NamesReader(partner)
	}
	return false
}
