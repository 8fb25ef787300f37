package trace

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tracehound/tracehound/chain"
)

// Request is a trace to run: seeds and options in their typed form. A
// node fills in what it decides itself (the labels, progress, limits).
type Request struct {
	Seeds []Seed
	Options
	// NoCluster turns the deposit-address and multi-input heuristics off:
	// only tagged services end the trace.
	NoCluster bool
	// Backward traces where the seed's incoming funds came from (one
	// address seed) instead of where they went.
	Backward bool
}

// Spec is a trace request in its text form, as the API's JSON body and
// the command line's flags give it. Request reads it.
type Spec struct {
	Chain string `json:"chain"`
	// Seeds are addresses or transaction hashes in ParseSeed's syntax.
	Seeds []string `json:"seeds"`
	Model string   `json:"model,omitempty"`
	Hops  int      `json:"hops,omitempty"`
	// Min is the dust limit in base units, as a decimal string.
	Min   string `json:"min,omitempty"`
	Since string `json:"since,omitempty"`
	Until string `json:"until,omitempty"`
	Asset string `json:"asset,omitempty"`
	// NoCluster turns the deposit-address heuristic off.
	NoCluster bool `json:"no_cluster,omitempty"`
	// NoSwaps ends the trace at DeFi venues instead of following swaps
	// into the assets they paid out.
	NoSwaps bool `json:"no_swaps,omitempty"`
	// Direction is "forward" (default: where did it go) or "backward"
	// (where did the seed's incoming funds come from; one address seed).
	Direction string `json:"direction,omitempty"`
}

// MaxHops is the most hops a request may ask for.
const MaxHops = 50

// Request reads the spec: the chain by lookup (a strict look-up of chain
// names), the seeds by ParseSeed with p, the amounts and times by their
// parsers. Every mistake is an error naming the field.
func (s Spec) Request(p AddressParser, lookup func(string) (chain.Chain, error)) (Request, error) {
	var r Request
	c, err := lookup(s.Chain)
	if err != nil {
		return r, err
	}
	if c == "" {
		return r, fmt.Errorf("chain %q names a token on several chains: name the chain", s.Chain)
	}
	r.Chain = c
	if len(s.Seeds) == 0 {
		return r, errors.New("a trace needs seeds")
	}
	if s.Model == "" {
		s.Model = string(Haircut)
	}
	if r.Model, err = ParseModel(s.Model); err != nil {
		return r, err
	}
	if s.Min == "" {
		s.Min = "0"
	}
	if r.MinAmount, err = chain.ParseAmount(s.Min); err != nil {
		return r, fmt.Errorf("min: %v", err)
	}
	r.MaxHops = s.Hops
	if r.MaxHops == 0 {
		r.MaxHops = DefaultMaxHops
	}
	if r.MaxHops < 1 || r.MaxHops > MaxHops {
		return r, fmt.Errorf("hops %d: want 1 to %d", s.Hops, MaxHops)
	}
	if r.Since, err = ParseTime(s.Since); err != nil {
		return r, fmt.Errorf("since: %v", err)
	}
	if r.Until, err = ParseTime(s.Until); err != nil {
		return r, fmt.Errorf("until: %v", err)
	}
	if s.Asset != "" && !strings.EqualFold(s.Asset, "native") {
		a, err := p.Parse(s.Asset, c)
		if err != nil {
			return r, fmt.Errorf("asset: %v", err)
		}
		r.Asset = chain.Asset(a.Value)
	}
	r.NoCluster, r.NoSwaps = s.NoCluster, s.NoSwaps
	switch s.Direction {
	case "", "forward":
	case "backward":
		r.Backward = true
	default:
		return r, fmt.Errorf("direction %q: want forward or backward", s.Direction)
	}
	for _, spec := range s.Seeds {
		sd, err := ParseSeed(p, c, spec)
		if err != nil {
			return r, err
		}
		r.Seeds = append(r.Seeds, sd)
	}
	if r.Backward {
		if len(r.Seeds) != 1 {
			return r, errors.New("a backward trace starts from one address")
		}
		if r.Seeds[0].Address == "" || r.Seeds[0].Tx != "" {
			return r, errors.New("a backward trace starts from an address, not a transaction")
		}
	}
	return r, nil
}
