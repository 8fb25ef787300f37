package report

import (
	"strings"

	"github.com/tracehound/tracehound/chain"
)

// Unit is how people write an asset: its symbol and how many decimals
// separate its base units from one whole coin or token.
type Unit struct {
	Symbol   string `json:"symbol"`
	Decimals int    `json:"decimals"`
	// Base names the base unit (wei, satoshi); empty for "base units".
	Base string `json:"base,omitempty"`
}

// Units tells the unit of an asset on a chain: a token's symbol and
// decimals, which only a token table or the contract knows. The chain's
// own coin (asset "") is known without it (Native), unless Units says
// otherwise.
type Units interface {
	Unit(c chain.Chain, a chain.Asset) (Unit, bool)
}

// Table is Units from a table, by chain and asset (canonical contract
// address, "" for the coin).
type Table map[chain.Chain]map[chain.Asset]Unit

// Unit implements Units.
func (t Table) Unit(c chain.Chain, a chain.Asset) (Unit, bool) {
	u, ok := t[c][a]
	return u, ok
}

// natives are the chains' coins.
var natives = map[chain.Chain]Unit{
	chain.Bitcoin:     {"BTC", 8, "satoshi"},
	chain.Ethereum:    {"ETH", 18, "wei"},
	chain.Tron:        {"TRX", 6, "sun"},
	chain.Litecoin:    {"LTC", 8, ""},
	chain.BitcoinCash: {"BCH", 8, "satoshi"},
	chain.BitcoinSV:   {"BSV", 8, "satoshi"},
	chain.BitcoinGold: {"BTG", 8, ""},
	chain.Dash:        {"DASH", 8, "duff"},
	chain.Zcash:       {"ZEC", 8, "zatoshi"},
	chain.Dogecoin:    {"DOGE", 8, ""},
	chain.Monero:      {"XMR", 12, "piconero"},
	chain.XRP:         {"XRP", 6, "drop"},
	chain.Stellar:     {"XLM", 7, "stroop"},
	chain.Cardano:     {"ADA", 6, "lovelace"},
	chain.Algorand:    {"ALGO", 6, "microalgo"},
	chain.Polkadot:    {"DOT", 10, "planck"},
	chain.Kusama:      {"KSM", 12, "planck"},
	chain.Solana:      {"SOL", 9, "lamport"},
}

// Native returns the unit of a chain's coin (ETH for every EVM network,
// which the graph keeps as one chain).
func Native(c chain.Chain) (Unit, bool) {
	u, ok := natives[c]
	return u, ok
}

// Amount is an exact amount written for people: in whole units where the
// unit is known, with the base units it stands for beside it.
type Amount struct {
	// Base is the exact amount in base units.
	Base chain.Amount `json:"base_units"`
	// Chain and Asset say what it is an amount of: the chain's coin
	// (asset "") or a token.
	Chain chain.Chain `json:"chain,omitempty"`
	Asset chain.Asset `json:"asset,omitempty"`
	// Unit is the asset's unit; Known is false when neither the chain's
	// coin nor the token's decimals are known, and the amount can only
	// be given in base units of the contract.
	Unit  Unit `json:"unit"`
	Known bool `json:"known"`
	// Value is the amount in whole units, exact, without grouping
	// ("10000", "0.5"); empty when the unit is not known.
	Value string `json:"value,omitempty"`
	// Text is how a person reads it: "10,000 ETH", "2,500.5 USDT", or
	// "1234 base units of token 0x... (decimals unknown)".
	Text string `json:"text"`
	// BaseText says the base units: "10000000000000000000000 wei".
	BaseText string `json:"base_text"`
}

// NewAmount writes a of asset on c in the unit units (or Native) gives.
func NewAmount(c chain.Chain, asset chain.Asset, a chain.Amount, units Units) Amount {
	var (
		u  Unit
		ok bool
	)
	if units != nil {
		u, ok = units.Unit(c, asset)
	}
	if !ok && asset == chain.Native {
		u, ok = Native(c)
	}
	out := Amount{Base: a, Chain: c, Asset: asset}
	if !ok || u.Decimals < 0 || u.Decimals > 77 || u.Symbol == "" {
		out.Unit = Unit{}
		what := "of token " + string(asset)
		if asset == chain.Native {
			what = "of the coin of " + string(c)
		}
		out.Text = a.String() + " base units " + what + " (decimals unknown)"
		out.BaseText = a.String() + " base units " + what
		return out
	}
	out.Unit, out.Known = u, true
	out.Value = decimal(a.String(), u.Decimals)
	out.Text = group(out.Value) + " " + u.Symbol
	base := u.Base
	if base == "" {
		base = "base units"
	}
	if asset != chain.Native {
		base += " of token " + string(asset)
	}
	out.BaseText = a.String() + " " + base
	return out
}

// decimal places the decimal point in digits (a whole number in base
// units) and trims trailing zeros: exact, never rounded.
func decimal(digits string, decimals int) string {
	if decimals == 0 {
		return digits
	}
	if len(digits) <= decimals {
		digits = strings.Repeat("0", decimals-len(digits)+1) + digits
	}
	whole, frac := digits[:len(digits)-decimals], strings.TrimRight(digits[len(digits)-decimals:], "0")
	if frac == "" {
		return whole
	}
	return whole + "." + frac
}

// group puts thousands separators in a decimal's whole part.
func group(s string) string {
	whole, frac, dot := strings.Cut(s, ".")
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if dot {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}
