// Package tags imports attribution tags (GraphSense TagPacks, Etherscan
// labels) that say which entity controls an address and what kind of
// service or actor it is.
package tags

import (
	"strings"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// Category is what kind of entity an address belongs to.
type Category string

// Categories screening and tracing act on. Sources' own vocabularies are
// mapped onto these; anything else is kept as written.
const (
	Exchange   Category = "exchange"
	Mixer      Category = "mixer"
	Bridge     Category = "bridge"
	DeFi       Category = "defi"
	Scam       Category = "scam"
	Ransomware Category = "ransomware"
	Sanctioned Category = "sanctioned"
	Hack       Category = "hack"
	Darknet    Category = "darknet"
	Terrorism  Category = "terrorism"
	Gambling   Category = "gambling"
	Miner      Category = "miner"
	Service    Category = "service"
	// Marketplace and PaymentProcessor are services GraphSense names
	// (market is filed under Darknet).
	Marketplace      Category = "marketplace"
	PaymentProcessor Category = "payment_processor"
	Unknown          Category = "unknown"
)

// ParseCategory normalises a category as attributions and labels carry
// it: lower case, and the synonyms of a DeFi venue ("dex", "swap") read
// as DeFi.
func ParseCategory(s string) Category {
	switch c := Category(strings.ToLower(strings.TrimSpace(s))); c {
	case "dex", "swap":
		return DeFi
	default:
		return c
	}
}

// IsService reports whether c holds or moves its customers' funds: a
// trace branch ends at such an address, where the funds can be frozen or
// go on by the service's own means.
func (c Category) IsService() bool {
	switch ParseCategory(string(c)) {
	case Exchange, Mixer, Bridge, Service, DeFi, Gambling, Miner, Marketplace, PaymentProcessor:
		return true
	}
	return false
}

// IsVenue reports whether c converts between assets within a
// transaction (DEX pools and routers, filed under DeFi): a trace goes on
// in the asset the venue paid out.
func (c Category) IsVenue() bool { return ParseCategory(string(c)) == DeFi }

// Continues reports whether funds that reach c go on by other means
// than a transfer the graph sees (a mixer's withdrawal, a bridge's
// payout on another chain), so the trace continues with other evidence.
func (c Category) Continues() bool {
	switch ParseCategory(string(c)) {
	case Mixer, Bridge:
		return true
	}
	return false
}

// IsExchange reports whether c is an exchange: a service whose deposit
// addresses can be frozen on request.
func (c Category) IsExchange() bool { return ParseCategory(string(c)) == Exchange }

// Tag attributes one address to an entity.
type Tag struct {
	Address chain.Address `json:"address"`
	// Entity is the controlling actor (GraphSense actor, or the label's
	// service name); Label is the tag's own text.
	Entity   string   `json:"entity"`
	Label    string   `json:"label"`
	Category Category `json:"category"`
	// Abuse is GraphSense's abuse type (ransomware, sextortion ...), if any.
	Abuse string `json:"abuse,omitempty"`
	// Source is where the attribution comes from (a URL or a dataset name).
	Source string `json:"source"`
	// Pack is the TagPack title or file the tag came from.
	Pack string `json:"pack,omitempty"`
	// Confidence is on GraphSense's 0-100 scale; ConfidenceLevel its name.
	Confidence      int       `json:"confidence"`
	ConfidenceLevel string    `json:"confidence_level,omitempty"`
	LastMod         time.Time `json:"lastmod,omitempty"`
}
