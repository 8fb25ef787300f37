package chain_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/bsv"
	"github.com/tracehound/tracehound/chain/btc"
	"github.com/tracehound/tracehound/chain/eth"
)

func TestCanonical(t *testing.T) {
	for in, want := range map[string]chain.Chain{
		"XBT": chain.Bitcoin, " Bitcoin Cash ": chain.BitcoinCash, "bitcoin_cash": chain.BitcoinCash, "ARB-ETH": chain.Ethereum,
		"Avalanche C-Chain": chain.Ethereum, "BNB Beacon Chain": chain.BNBBeacon, "USDT": "",
	} {
		if got, ok := chain.Canonical(in); !ok || got != want {
			t.Errorf("Canonical(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "etherium", "x", "solanna"} {
		if got, ok := chain.Canonical(in); ok {
			t.Errorf("Canonical(%q) = %q", in, got)
		}
	}
	names := chain.Names()
	if !slices.IsSorted(names) || !slices.Contains(names, "arbeth") {
		t.Errorf("Names: %v", names)
	}
	// Every chain's own name is an accepted name for it.
	for _, c := range chain.Chains() {
		if got, ok := chain.Canonical(string(c)); !ok || got != c {
			t.Errorf("%s maps to %q", c, got)
		}
	}
}

func TestParserHints(t *testing.T) {
	p := chain.NewParser(eth.Codec{}, btc.Codec{}, bsv.Codec{})
	const lazarus = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96"
	// An alias given as a Chain reaches its codec, not the opaque path.
	for _, hint := range []chain.Chain{"bsc", "ARBETH", "Polygon", chain.Ethereum} {
		if a, err := p.Parse(lazarus, hint); err != nil || a.Chain != chain.Ethereum || a.Kind == "opaque" {
			t.Errorf("hint %q: %+v %v", hint, a, err)
		}
	}
	// A token code detects by shape.
	if a, err := p.Parse(lazarus, "usdt"); err != nil || a.Chain != chain.Ethereum {
		t.Errorf("usdt: %+v %v", a, err)
	}
	// A chain without a codec keeps the string as written, visibly.
	if a, err := p.Parse(" LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb ", "LTC"); err != nil || a.Kind != "opaque" || a.Chain != chain.Litecoin || a.Value != "LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb" {
		t.Errorf("opaque: %+v %v", a, err)
	}
	// The unknown error names the parser's chains.
	if _, err := p.Parse("hello", ""); chain.ErrorReason(err) != chain.ReasonUnknown || !strings.Contains(err.Error(), "eth, btc, bsv") {
		t.Errorf("unknown: %v", err)
	}
}

func TestParseAll(t *testing.T) {
	p := chain.NewParser(eth.Codec{}, btc.Codec{}, bsv.Codec{})
	all, err := p.ParseAll("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")
	if err != nil || len(all) != 2 || all[0].Chain != chain.Bitcoin || all[1].Chain != chain.BitcoinSV {
		t.Errorf("%+v %v", all, err)
	}
	if _, err := p.ParseAll("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb"); chain.ErrorReason(err) != chain.ReasonChecksum {
		t.Errorf("bad checksum: %v", err)
	}
	if _, err := p.ParseAll(" "); chain.ErrorReason(err) != chain.ReasonEmpty {
		t.Errorf("empty: %v", err)
	}
	if _, err := p.ParseAll("hello"); chain.ErrorReason(err) != chain.ReasonUnknown {
		t.Errorf("unknown: %v", err)
	}
}
