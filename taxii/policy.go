package taxii

import "context"

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

// TLP is a Traffic Light Protocol level, ordered from the least to the
// most restrictive.
type TLP int

// The TLP 2.0 levels; TLPNone means an object carries no TLP marking.
const (
	TLPNone TLP = iota
	TLPClear
	TLPGreen
	TLPAmber
	TLPAmberStrict
	TLPRed
)

func (t TLP) String() string {
	switch t {
	case TLPNone:
		return "none"
	case TLPClear:
		return "TLP:CLEAR"
	case TLPGreen:
		return "TLP:GREEN"
	case TLPAmber:
		return "TLP:AMBER"
	case TLPAmberStrict:
		return "TLP:AMBER+STRICT"
	case TLPRed:
		return "TLP:RED"
	}
	return "TLP(?)"
}

// The ids of the OASIS TLP 2.0 marking definitions (cti-stix-common-objects,
// extension-definition-specifications/tlp-2.0).
const (
	MarkingTLPClear       = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
	MarkingTLPGreen       = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
	MarkingTLPAmber       = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
	MarkingTLPAmberStrict = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
	MarkingTLPRed         = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
)

// The ids of the TLP 1.0 marking definitions of STIX 2.1 (section
// 7.2.1.4); WHITE is TLP 2.0's CLEAR.
const (
	MarkingTLP1White = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"
	MarkingTLP1Green = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
	MarkingTLP1Amber = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
	MarkingTLP1Red   = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"
)

// MarkingTLP returns the level of a marking-definition id, or TLPNone if
// it is not a TLP marking.
func MarkingTLP(id string) TLP {
	switch id {
	case MarkingTLPClear, MarkingTLP1White:
		return TLPClear
	case MarkingTLPGreen, MarkingTLP1Green:
		return TLPGreen
	case MarkingTLPAmber, MarkingTLP1Amber:
		return TLPAmber
	case MarkingTLPAmberStrict:
		return TLPAmberStrict
	case MarkingTLPRed, MarkingTLP1Red:
		return TLPRed
	}
	return TLPNone
}

// ObjectTLP returns the most restrictive TLP level among an object's
// markings: an object marked both GREEN and RED is RED.
func ObjectTLP(o Object) TLP {
	level := TLPNone
	for _, m := range o.Markings {
		level = max(level, MarkingTLP(m))
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
	Unmarked TLP
}

// Allow applies the policy.
func (p TLPPolicy) Allow(_ context.Context, partner string, c Collection, o Object) bool {
	level := ObjectTLP(o)
	if level == TLPNone {
		level = p.Unmarked
		if level == TLPNone {
			level = TLPAmber
		}
	}
	switch level {
	case TLPClear, TLPGreen:
		return c.CanBeReadBy(partner)
	case TLPAmber, TLPAmberStrict:
		return c.NamesReader(partner)
	}
	return false
}
