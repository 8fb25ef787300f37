// Package tags imports attribution tags (GraphSense TagPacks, Etherscan
// labels) that say which entity controls an address and what kind of
// service or actor it is.
package tags

import (
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
	Unknown    Category = "unknown"
)

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
