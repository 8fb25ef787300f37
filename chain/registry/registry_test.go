package registry_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/internal/codectest"
	"github.com/tracehound/tracehound/chain/registry"
)

// listedChain is the chain each per-asset OFAC list's addresses belong to.
var listedChain = map[string][]chain.Chain{
	"XBT": {chain.Bitcoin}, "ETH": {chain.Ethereum}, "USDT": {chain.Ethereum, chain.Tron, chain.Bitcoin}, "USDC": {chain.Ethereum},
	"TRX": {chain.Tron}, "LTC": {chain.Litecoin}, "BCH": {chain.BitcoinCash}, "BSV": {chain.BitcoinSV},
	"BTG": {chain.BitcoinGold}, "DASH": {chain.Dash}, "ZEC": {chain.Zcash}, "XMR": {chain.Monero},
	"XRP": {chain.XRP}, "XVG": {chain.Verge}, "SOL": {chain.Solana}, "ETC": {chain.Ethereum},
	"ARB": {chain.Ethereum}, "BSC": {chain.Ethereum}, "BNB": {chain.BNBBeacon},
}

// notAnAddress is the XMR list's 64-hex entry (see chain/xmr's tests).
const notAnAddress = "5be5543ff73456ab9f2d207887e2af87322c651ea1a873c5b25b7ffae456c320"

// misfiled is a Tron address OFAC lists under XBT (feature 65924 of the
// 2025-11-19 advanced XML, type 344 "Digital Currency Address - XBT").
const misfiled = "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq"

// TestEveryListedAddress parses every address of every per-asset list
// under its asset code, as a list loader does, and again with no chain
// named: each validates with its chain's codec, none is kept opaque.
func TestEveryListedAddress(t *testing.T) {
	p := registry.NewParser()
	total := 0
	for _, asset := range codectest.ListAssets {
		want := listedChain[asset]
		hint, err := registry.Lookup(asset)
		if err != nil {
			t.Fatalf("%s: %v", asset, err)
		}
		if hint != chain.ParseChain(asset) {
			t.Errorf("%s: Lookup %q, ParseChain %q", asset, hint, chain.ParseChain(asset))
		}
		for _, s := range codectest.List(t, asset) {
			if s == notAnAddress {
				if _, err := p.Parse(s, hint); chain.ErrorReason(err) != chain.ReasonFormat {
					t.Errorf("%s %s: %v", asset, s, err)
				}
				continue
			}
			if s == misfiled {
				if _, err := p.Parse(s, hint); chain.ErrorReason(err) != chain.ReasonNetwork {
					t.Errorf("%s %s under its asset: %v", asset, s, err)
				}
				a, wrong, err := registry.ParseListed(p, s, asset)
				if err != nil || !wrong || a.Chain != chain.Tron {
					t.Errorf("%s %s: ParseListed %+v %v %v", asset, s, a, wrong, err)
				}
				continue
			}
			total++
			if a, wrong, err := registry.ParseListed(p, s, asset); err != nil || wrong || !slices.Contains(want, a.Chain) {
				t.Errorf("%s %s: ParseListed %+v %v %v", asset, s, a, wrong, err)
			}
			a, err := p.Parse(s, hint)
			if err != nil || a.Kind == "opaque" || !slices.Contains(want, a.Chain) {
				t.Errorf("%s %s: %+v %v", asset, s, a, err)
				continue
			}
			all, err := p.ParseAll(s)
			if err != nil || !slices.Contains(all, a) {
				t.Errorf("%s %s: ParseAll %v %v misses %+v", asset, s, all, err, a)
			}
		}
	}
	t.Logf("%d listed addresses, each validated by its chain's codec", total)
}

// TestSharedStrings: strings valid on several chains read as the first
// codec in order, and ParseAll gives every reading.
func TestSharedStrings(t *testing.T) {
	p := registry.NewParser()
	for _, tc := range []struct {
		in    string
		first chain.Chain
		all   []chain.Chain
	}{
		{"18M8bJWMzWHDBMxoLqjHHAffdRy4SrzkfB", chain.Bitcoin, []chain.Chain{chain.Bitcoin, chain.BitcoinCash, chain.BitcoinSV}},
		{"3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", chain.Bitcoin, []chain.Chain{chain.Bitcoin, chain.BitcoinCash, chain.BitcoinSV, chain.Litecoin}},
		{"DFFJhnQNZf8rf67tYnesPu7MuGUpYtzv7Z", chain.Dogecoin, []chain.Chain{chain.Dogecoin, chain.Verge}},
		{"bnb136ns6lfw4zs5hg4n85vdthaad7hq5m4gtkgf23", chain.BNBBeacon, []chain.Chain{chain.BNBBeacon}},
		{"qpf2cphc5dkuclkqur7lhj2yuqq9pk3hmukle77vhq", chain.BitcoinCash, []chain.Chain{chain.BitcoinCash}},
		{"42RLPACwZPx3vYYmxSueqsogfynBDqXK298EDsNoyoHi", chain.Solana, []chain.Chain{chain.Solana}},
	} {
		a, err := p.Parse(tc.in, "")
		if err != nil || a.Chain != tc.first {
			t.Errorf("%s: %+v %v, want %s", tc.in, a, err, tc.first)
		}
		all, err := p.ParseAll(tc.in)
		var got []chain.Chain
		for _, a := range all {
			got = append(got, a.Chain)
		}
		if err != nil || !slices.Equal(got, tc.all) {
			t.Errorf("%s: ParseAll %v %v, want %v", tc.in, got, err, tc.all)
		}
	}
	// The legacy BCH listing's CashAddr is among the readings of its
	// legacy string, so a query that names no chain can find it.
	all, _ := p.ParseAll("18M8bJWMzWHDBMxoLqjHHAffdRy4SrzkfB")
	if !slices.ContainsFunc(all, func(a chain.Address) bool { return a.Chain == chain.BitcoinCash && strings.HasPrefix(a.Value, "q") }) {
		t.Errorf("readings %v", all)
	}
}

// TestBNBBeacon: a bnb1 address under the BNB code, or with no chain
// named, is the BNB Beacon Chain's, not a bad Ethereum address.
func TestBNBBeacon(t *testing.T) {
	p := registry.NewParser()
	const s = "bnb136ns6lfw4zs5hg4n85vdthaad7hq5m4gtkgf23"
	for _, hint := range []chain.Chain{"", chain.ParseChain("BNB"), "BNB", chain.BNBBeacon} {
		if a, err := p.Parse(s, hint); err != nil || a.Chain != chain.BNBBeacon {
			t.Errorf("hint %q: %+v %v", hint, a, err)
		}
	}
	// BSC's 0x address under BSC is Ethereum's.
	if a, err := p.Parse("0x4f47bc496083c727c5fbe3ce9cdf2b0f6496270c", chain.ParseChain("BSC")); err != nil || a.Chain != chain.Ethereum {
		t.Errorf("BSC: %+v %v", a, err)
	}
}

func TestNothingUnchecked(t *testing.T) {
	p := registry.NewParser()
	// A named chain with a codec validates: no more "hello world" on XRP.
	for _, c := range []chain.Chain{chain.XRP, chain.Cardano, chain.Litecoin, chain.Solana, chain.Stellar} {
		if a, err := p.Parse("hello world", c); err == nil {
			t.Errorf("%s took %+v", c, a)
		}
	}
	// Aliases reach their codec through a hint too.
	if _, err := p.Parse("hello world", "ripple"); err == nil {
		t.Error("ripple took hello world")
	}
	// Only a chain without a codec keeps a string as written, visibly.
	a, err := p.Parse("anything", "fantomx")
	if err != nil || a.Kind != "opaque" {
		t.Errorf("no codec: %+v %v", a, err)
	}
	_, err = p.Parse("hello world", "")
	if chain.ErrorReason(err) != chain.ReasonUnknown || !strings.Contains(err.Error(), "xrp") {
		t.Errorf("detection: %v", err)
	}
}

func TestEveryChainHasACodec(t *testing.T) {
	p := registry.NewParser()
	for _, c := range chain.Chains() {
		if !p.Known(c) {
			t.Errorf("%s has no codec", c)
		}
	}
	if got, want := len(registry.Chains()), len(chain.Chains()); got != want {
		t.Errorf("%d codecs for %d chains", got, want)
	}
}

func TestLookup(t *testing.T) {
	for in, want := range map[string]chain.Chain{
		"XBT": chain.Bitcoin, "btc": chain.Bitcoin, "Bitcoin": chain.Bitcoin,
		"ETH": chain.Ethereum, "ARBETH": chain.Ethereum, "ARB": chain.Ethereum, "BSC": chain.Ethereum, "ETC": chain.Ethereum,
		"MATIC": chain.Ethereum, "POL": chain.Ethereum, "avax": chain.Ethereum, "OP": chain.Ethereum, "base": chain.Ethereum,
		"BNB Smart Chain": chain.Ethereum, "TRX": chain.Tron, "XRP": chain.XRP, "ripple": chain.XRP, "XLM": chain.Stellar, "ADA": chain.Cardano,
		"ALGO": chain.Algorand, "DOT": chain.Polkadot, "KSM": chain.Kusama, "SOL": chain.Solana, "BNB": chain.BNBBeacon,
		"Bitcoin Cash": chain.BitcoinCash, "bitcoin-cash": chain.BitcoinCash, "BSV": chain.BitcoinSV, "DOGE": chain.Dogecoin,
		"XVG": chain.Verge, "ZEC": chain.Zcash, "XMR": chain.Monero, "LTC": chain.Litecoin, "DASH": chain.Dash, "BTG": chain.BitcoinGold,
		"USDT": "", "usdc": "",
	} {
		got, err := registry.Lookup(in)
		if err != nil || got != want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, suggestion := range map[string]string{"etherium": "ethereum", "x": "", "bitcon": "bitcoin", "": "", "solanna": "solana"} {
		_, err := registry.Lookup(in)
		var ue *registry.UnknownChainError
		if !errors.As(err, &ue) || !errors.Is(err, registry.ErrUnknownChain) || ue.Suggestion != suggestion {
			t.Errorf("Lookup(%q): %v", in, err)
			continue
		}
		for _, name := range []string{"btc (bitcoin, xbt)", "arbeth", "xrp", "tron", "usdt"} {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("Lookup(%q): %v does not name %s", in, err, name)
			}
		}
	}
}

// TestParseChainUnchanged: the lenient mapping keeps its old answers for
// the names callers used, and now resolves the aliases it missed.
func TestParseChainUnchanged(t *testing.T) {
	for in, want := range map[string]chain.Chain{
		"": "", "BTC": chain.Bitcoin, "XBT": chain.Bitcoin, "ethereum": chain.Ethereum, "TRX": chain.Tron, "trc20": chain.Tron,
		"USDT": "", "USDC": "", "bep20": chain.Ethereum, "ERC20": chain.Ethereum,
		"LTC": "ltc", "XMR": "xmr", "ZEC": "zec",
		"ARBETH": chain.Ethereum, "BNB": chain.BNBBeacon,
		"SomeNewCoin": "somenewcoin",
	} {
		if got := chain.ParseChain(in); got != want {
			t.Errorf("ParseChain(%q) = %q, want %q", in, got, want)
		}
	}
}

// listed returns every address of the lists with its asset's chain.
func listed(b *testing.B) (addrs []string, hints []chain.Chain) {
	for _, asset := range codectest.ListAssets {
		hint, _ := registry.Lookup(asset)
		for _, s := range codectest.List(b, asset) {
			if s != notAnAddress && s != misfiled {
				addrs, hints = append(addrs, s), append(hints, hint)
			}
		}
	}
	return addrs, hints
}

// BenchmarkParseListed parses the OFAC addresses under their assets'
// chains, as a list loader does.
func BenchmarkParseListed(b *testing.B) {
	p := registry.NewParser()
	addrs, hints := listed(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := p.Parse(addrs[i], hints[i]); err != nil {
			b.Fatal(err)
		}
		if i++; i == len(addrs) {
			i = 0
		}
	}
}

// BenchmarkParseDetect parses them with no chain named: detection by
// shape, as a query does.
func BenchmarkParseDetect(b *testing.B) {
	p := registry.NewParser()
	addrs, _ := listed(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := p.Parse(addrs[i], ""); err != nil {
			b.Fatal(err)
		}
		if i++; i == len(addrs) {
			i = 0
		}
	}
}

// FuzzDetect: a string detected as an address parses to the same address
// under its own chain, and is among ParseAll's readings.
func FuzzDetect(f *testing.F) {
	p := registry.NewParser()
	f.Fuzz(func(t *testing.T, s string) {
		a, err := p.Parse(s, "")
		if err != nil {
			if chain.ErrorReason(err) == "" {
				t.Fatalf("%q: error without reason: %v", s, err)
			}
			return
		}
		if b, err := p.Parse(a.Value, a.Chain); err != nil || b != a {
			t.Fatalf("%q: %+v reparses under %s as %+v, %v", s, a, a.Chain, b, err)
		}
		all, err := p.ParseAll(s)
		if err != nil || all[0] != a {
			t.Fatalf("%q: ParseAll %+v %v, Parse %+v", s, all, err, a)
		}
	})
}
