// Package exposure computes how close each address's funds are to risky
// money: for every address, how much of what it received came from each
// risk category (sanctioned, stolen, mixers, bridges, darknet markets,
// ransomware, scams, gambling, exchanges, DeFi), directly (one hop) or
// indirectly (up to N hops), and how much of what it sent went to one
// directly.
//
// The Engine streams transfers in chain order and carries the taint of
// every category forward under the haircut model: an address that holds
// tainted and clean value passes taint on in proportion to its balance at
// the moment it pays, exactly, in integers, hop by hop up to N hops.
// Services (exchanges, mixers, bridges, DeFi venues, gambling) end the
// propagation: what leaves a service carries the service's own category
// at one hop, not what entered it, as compliance tools treat services as
// counterparties that break the chain. A Bitcoin transaction pools its
// inputs' taint and pays it out in proportion to its outputs.
//
// Screening reads an address's exposure from the engine's memory, never
// by tracing at request time; the engine keeps up with each ingested
// block and is rebuilt from the transfer graph when the lists, tags or
// partners' flags that make the sources change.
package exposure

import (
	"github.com/tracehound/tracehound/tags"
)

// Categories are the risk categories exposure is measured to, in the
// order of their bits in a Mask.
var Categories = []tags.Category{
	tags.Sanctioned, tags.Hack, tags.Mixer, tags.Bridge, tags.Darknet,
	tags.Ransomware, tags.Scam, tags.Gambling, tags.Exchange, tags.DeFi,
}

// Mask is a set of Categories.
type Mask uint16

// Bit is the mask of one category; 0 for a category not measured.
func Bit(c tags.Category) Mask {
	c = tags.ParseCategory(string(c))
	for i, x := range Categories {
		if x == c {
			return 1 << i
		}
	}
	return 0
}

// Has reports whether m holds category index i.
func (m Mask) Has(i int) bool { return m&(1<<i) != 0 }

// services are the categories that end the propagation of others' taint.
var services = Bit(tags.Mixer) | Bit(tags.Bridge) | Bit(tags.Gambling) | Bit(tags.Exchange) | Bit(tags.DeFi)

// Direction says which way the funds went.
type Direction string

// The directions.
const (
	Incoming Direction = "incoming"
	Outgoing Direction = "outgoing"
)

// DefaultMaxHops is how far taint is followed by default.
const DefaultMaxHops = 4
