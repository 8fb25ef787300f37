// Package sanctions parses official sanctions lists (OFAC's SDN advanced XML
// and legacy SDN.CSV) into digital-currency address entries and keeps list
// versions, so that additions and removals are recorded with their dates.
package sanctions

import "time"

// Party is a sanctioned person or organisation.
type Party struct {
	// FixedRef is OFAC's stable identifier of the party (Lazarus Group is "27307").
	FixedRef string   `json:"fixed_ref"`
	Name     string   `json:"name"`
	Programs []string `json:"programs,omitempty"` // e.g. DPRK3, CYBER2
}

// Entry is one digital-currency address on a list.
type Entry struct {
	// Asset is the list's asset code after "Digital Currency Address - ":
	// XBT, ETH, USDT, TRX, LTC, XMR ...
	Asset string `json:"asset"`
	// Address is exactly as the list writes it.
	Address   string `json:"address"`
	FeatureID string `json:"feature_id,omitempty"`
	Party     Party  `json:"party"`
	// Source names the list, e.g. "OFAC SDN".
	Source string `json:"source"`
	// ListDate is the publication date of the list version the entry was read from.
	ListDate time.Time `json:"list_date"`
}
