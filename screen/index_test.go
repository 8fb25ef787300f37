package screen_test

import (
	"context"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btc"
	"github.com/tracehound/tracehound/chain/eth"
	"github.com/tracehound/tracehound/chain/tron"
	"github.com/tracehound/tracehound/sanctions"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/tags"
)

const lazarusETH = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96"

func newParser() *chain.Parser { return chain.NewParser(eth.Codec{}, tron.Codec{}, btc.Codec{}) }

func mustParse(t testing.TB, p *chain.Parser, s string, c chain.Chain) chain.Address {
	t.Helper()
	a, err := p.Parse(s, c)
	if err != nil {
		t.Fatalf("parse %s: %v", s, err)
	}
	return a
}

func testIndex(t testing.TB) *screen.Index {
	p := newParser()
	x := screen.NewIndex(p, screen.DefaultPolicy())
	listDate := time.Date(2025, 11, 19, 0, 0, 0, 0, time.UTC)
	x.SetSanctions([]sanctions.Entry{
		{Asset: "ETH", Address: lazarusETH, FeatureID: "1", Source: "OFAC SDN", ListDate: listDate,
			Party: sanctions.Party{FixedRef: "27307", Name: "LAZARUS GROUP", Programs: []string{"DPRK3"}}},
		{Asset: "BCH", Address: "18M8bJWMzWHDBMxoLqjHHAffdRy4SrzkfB", Source: "OFAC SDN", ListDate: listDate,
			Party: sanctions.Party{Name: "SOME BCH PARTY"}},
		{Asset: "XMR", Address: "  49HqitRzdnhYjgTEAhgGpCfsjdTeMbUTU6cyR4JV1R7k2Eej9rGT8JpFiYDa4tZM6RZiFrHmMzgSrhHEqpDYKBe5B2ufNsL ", Source: "OFAC SDN", ListDate: listDate,
			Party: sanctions.Party{Name: "XMR PARTY"}},
	})
	x.SetTags([]tags.Tag{
		{Address: mustParse(t, p, "0x28c6c06298d514db089934071355e5743bf21d60", ""), Entity: "Binance", Label: "Binance 14", Category: tags.Exchange, Source: "etherscan", Confidence: 20},
		{Address: mustParse(t, p, "0xd90e2f925da726b50c4ed8d0fb90ad053324f31b", ""), Entity: "Tornado Cash", Category: tags.Mixer, Source: "graphsense", Confidence: 90},
		{Address: mustParse(t, p, "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh", ""), Entity: "guess", Category: tags.Ransomware, Source: "heuristic", Confidence: 10},
		{Address: chain.Opaque("ltc", "LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb"), Entity: "Some LTC scam", Category: tags.Scam, Source: "graphsense", Confidence: 60},
	})
	return x
}

func TestScreenSanctioned(t *testing.T) {
	x := testIndex(t)
	for _, in := range []string{lazarusETH, "0x098b716b8aaf21512996dc57eb0615e2383e2f96", "0X098B716B8AAF21512996DC57EB0615E2383E2F96"} {
		r := x.Screen(screen.Query{Address: in})
		if r.Error != nil {
			t.Fatalf("%s: %v", in, r.Error.Message)
		}
		if !r.Sanctioned || r.Risk != screen.Severe || r.Chain != chain.Ethereum {
			t.Fatalf("%s: sanctioned=%v risk=%s chain=%s", in, r.Sanctioned, r.Risk, r.Chain)
		}
		if r.Address != "0x098b716b8aaf21512996dc57eb0615e2383e2f96" {
			t.Errorf("canonical form %q", r.Address)
		}
		if len(r.Sanctions) != 1 || r.Sanctions[0].Party != "LAZARUS GROUP" || r.Sanctions[0].Programs[0] != "DPRK3" {
			t.Errorf("sanctions %+v", r.Sanctions)
		}
		if len(r.Reasons) == 0 || r.Reasons[0].Code != "sanctioned" {
			t.Errorf("reasons %+v", r.Reasons)
		}
	}
}

func TestScreenChecksumRejected(t *testing.T) {
	x := testIndex(t)
	// One letter's case flipped: the EIP-55 checksum no longer matches.
	r := x.Screen(screen.Query{Address: "0x098b716B8Aaf21512996dC57EB0615e2383E2f96"})
	if r.Error == nil || r.Error.Reason != chain.ReasonChecksum {
		t.Fatalf("want checksum error, got %+v", r)
	}
	if r.Risk != 0 || r.Sanctioned {
		t.Errorf("an invalid input must carry no verdict: %+v", r)
	}
}

func TestScreenCategories(t *testing.T) {
	x := testIndex(t)
	cases := []struct {
		in   string
		c    chain.Chain
		risk screen.Risk
	}{
		{"0x28C6c06298d514Db089934071355E5743bf21d60", "", screen.Low},
		{"0xd90e2f925da726b50c4ed8d0fb90ad053324f31b", "", screen.High},
		// a ransomware tag of confidence 10 alone cannot raise risk past medium
		{"bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh", "", screen.Medium},
		{"LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb", "ltc", screen.High},
		// no chain named: found by its string among assets without a codec
		{"LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb", "", screen.High},
		{"1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "", screen.Low},
	}
	for _, c := range cases {
		r := x.Screen(screen.Query{Address: c.in, Chain: c.c})
		if r.Error != nil {
			t.Fatalf("%s: %s", c.in, r.Error.Message)
		}
		if r.Risk != c.risk {
			t.Errorf("%s: risk %s, want %s (reasons %+v)", c.in, r.Risk, c.risk, r.Reasons)
		}
	}
}

func TestScreenOpaqueSanctions(t *testing.T) {
	x := testIndex(t)
	// A legacy BCH address reads like a Bitcoin one: a query without a
	// chain must still find the BCH listing.
	r := x.Screen(screen.Query{Address: "18M8bJWMzWHDBMxoLqjHHAffdRy4SrzkfB"})
	if r.Error != nil || !r.Sanctioned || r.Sanctions[0].Asset != "BCH" {
		t.Fatalf("BCH listing not matched: %+v", r)
	}
	// Monero has no codec: matched as written, whitespace trimmed.
	r = x.Screen(screen.Query{Address: "49HqitRzdnhYjgTEAhgGpCfsjdTeMbUTU6cyR4JV1R7k2Eej9rGT8JpFiYDa4tZM6RZiFrHmMzgSrhHEqpDYKBe5B2ufNsL"})
	if r.Error != nil || !r.Sanctioned || r.Chain != "xmr" {
		t.Fatalf("XMR listing not matched: %+v", r)
	}
	// Unknown shape, nothing listed: an error that says so.
	r = x.Screen(screen.Query{Address: "not-an-address"})
	if r.Error == nil || r.Error.Reason != chain.ReasonUnknown {
		t.Fatalf("want unknown error, got %+v", r)
	}
}

func TestScreenBatchOrderAndSwap(t *testing.T) {
	x := testIndex(t)
	qs := make([]screen.Query, 5000)
	for i := range qs {
		if i%2 == 0 {
			qs[i] = screen.Query{Address: lazarusETH}
		} else {
			qs[i] = screen.Query{Address: "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"}
		}
	}
	rs, err := x.ScreenBatch(context.Background(), qs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		if r.Input != qs[i].Address || r.Sanctioned != (i%2 == 0) {
			t.Fatalf("result %d out of order or wrong: %+v", i, r)
		}
	}
	// Replacing the sanctions layer takes effect at once.
	x.SetSanctions(nil)
	if r := x.Screen(screen.Query{Address: lazarusETH}); r.Sanctioned {
		t.Fatal("delisted address still sanctioned")
	}
	if st := x.Stats(); st.SanctionedAddresses != 0 || st.TaggedAddresses != 4 {
		t.Fatalf("stats %+v", st)
	}
}
