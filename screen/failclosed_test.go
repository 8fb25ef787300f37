package screen_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/registry"
	"github.com/tracehound/tracehound/intel"
	"github.com/tracehound/tracehound/sanctions"
	"github.com/tracehound/tracehound/screen"
)

// realIndex lists, as OFAC does, addresses under their asset codes,
// parsed by every codec the node has.
func realIndex(t *testing.T, entries ...sanctions.Entry) *screen.Index {
	t.Helper()
	x := screen.NewIndex(registry.NewParser(), screen.DefaultPolicy())
	x.SetSanctions(entries)
	return x
}

func listed(asset, addr string) sanctions.Entry {
	return sanctions.Entry{Asset: asset, Address: addr, Source: "OFAC SDN", ListDate: time.Date(2025, 11, 19, 0, 0, 0, 0, time.UTC), Party: sanctions.Party{Name: "PARTY " + asset}}
}

// TestScreenUnknownChain: a sanctioned address sent with an unknown or
// misspelt chain is an error, never a low.
func TestScreenUnknownChain(t *testing.T) {
	x := realIndex(t, listed("ETH", lazarusETH))
	for _, c := range []chain.Chain{"etherium", "x", "bitcoin-cashh"} {
		r := x.Screen(screen.Query{Address: lazarusETH, Chain: c})
		if r.Error == nil || r.Error.Reason != screen.ReasonChain || r.Risk != 0 {
			t.Errorf("chain %q: %+v", c, r)
		}
	}
	if r := x.Screen(screen.Query{Address: lazarusETH, Chain: "Ethereum"}); r.Error != nil || !r.Sanctioned {
		t.Errorf("chain Ethereum: %+v", r)
	}
}

// TestScreenNoList: with no sanctions list loaded, nothing is low.
func TestScreenNoList(t *testing.T) {
	x := screen.NewIndex(registry.NewParser(), screen.DefaultPolicy())
	r := x.Screen(screen.Query{Address: lazarusETH})
	if r.Error != nil || r.Risk != screen.Unknown || len(r.Reasons) == 0 || r.Reasons[len(r.Reasons)-1].Code != "no_list" {
		t.Fatalf("no list: %+v", r)
	}
	if x.SanctionsLoaded() {
		t.Error("an empty index says a list is loaded")
	}
	x.SetSanctions([]sanctions.Entry{listed("XBT", "12t9YDPgwueZ9NyMgw519p7AA8isjr6SMw")})
	if r := x.Screen(screen.Query{Address: lazarusETH}); r.Risk != screen.Low || len(r.Reasons) != 0 {
		t.Errorf("with a list: %+v", r)
	}
	// A threshold of any level holds unknown back.
	for _, lvl := range []screen.Risk{screen.Low, screen.Medium, screen.High, screen.Severe} {
		if !(screen.Unknown >= lvl) {
			t.Errorf("unknown passes a %s threshold", lvl)
		}
	}
}

// TestScreenChainFamilies: BNB Beacon addresses are BNB's, not refused
// Ethereum ones; an address listed under ARBETH is found as eth and the
// reverse; a Verge or legacy Bitcoin Cash listing is found by its string
// when no chain is named, though it reads as Dogecoin or Bitcoin.
func TestScreenChainFamilies(t *testing.T) {
	x := realIndex(t,
		listed("BNB", "bnb136ns6lfw4zs5hg4n85vdthaad7hq5m4gtkgf23"),
		listed("ARBETH", "0x4f47bc496083c727c5fbe3ce9cdf2b0f6496270c"),
		listed("ETH", lazarusETH),
		listed("XVG", "DFFJhnQNZf8rf67tYnesPu7MuGUpYtzv7Z"),
		listed("BCH", "18M8bJWMzWHDBMxoLqjHHAffdRy4SrzkfB"),
	)
	for _, q := range []screen.Query{
		{Address: "bnb136ns6lfw4zs5hg4n85vdthaad7hq5m4gtkgf23"},
		{Address: "bnb136ns6lfw4zs5hg4n85vdthaad7hq5m4gtkgf23", Chain: "bnb"},
		{Address: "0x4f47bc496083c727c5fbe3ce9cdf2b0f6496270c", Chain: "eth"},
		{Address: "0x4f47bc496083c727c5fbe3ce9cdf2b0f6496270c", Chain: "ARBETH"},
		{Address: lazarusETH, Chain: "arbeth"},
		{Address: lazarusETH, Chain: "bsc"},
		{Address: "DFFJhnQNZf8rf67tYnesPu7MuGUpYtzv7Z"},
		{Address: "DFFJhnQNZf8rf67tYnesPu7MuGUpYtzv7Z", Chain: "xvg"},
		{Address: "18M8bJWMzWHDBMxoLqjHHAffdRy4SrzkfB"},
		{Address: "18M8bJWMzWHDBMxoLqjHHAffdRy4SrzkfB", Chain: "bch"},
	} {
		if r := x.Screen(q); r.Error != nil || !r.Sanctioned || r.Risk != screen.Severe || !r.Validated {
			t.Errorf("%s on %q: %+v", q.Address, q.Chain, r)
		}
	}
	// A typo in a BNB address is refused by its checksum.
	if r := x.Screen(screen.Query{Address: "bnb136ns6lfw4zs5hg4n85vdthaad7hq5m4gtkgf24"}); r.Error == nil {
		t.Errorf("a corrupted bnb address screened: %+v", r)
	}
}

// TestScreenNotValidated: an address matched as written (a listing no
// codec reads, as OFAC's XMR list holds a 64-hex key) says so.
func TestScreenNotValidated(t *testing.T) {
	key := "0f0b2d2c44a2b5e4f1b3a7e2c9d8f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9"
	x := realIndex(t, listed("XMR", key), listed("ETH", lazarusETH))
	r := x.Screen(screen.Query{Address: key})
	if r.Error != nil || !r.Sanctioned || r.Validated {
		t.Fatalf("an unvalidated listing: %+v", r)
	}
	found := false
	for _, rs := range r.Reasons {
		found = found || rs.Code == "not_validated"
	}
	if !found {
		t.Errorf("no not_validated reason: %+v", r.Reasons)
	}
}

// TestRestrict: a key cleared for GREEN keeps the risk of an AMBER or
// unmarked flag but not its partner or report; the index's own slices
// are left as they were.
func TestRestrict(t *testing.T) {
	x := realIndex(t, listed("XBT", "12t9YDPgwueZ9NyMgw519p7AA8isjr6SMw"))
	p := registry.NewParser()
	addr, _ := p.Parse(lazarusETH, "")
	x.SetIntel([]screen.IntelEntry{
		{Address: addr, Flag: screen.IntelFlag{Partner: "us-agency", Report: "Secret report", Indicator: "indicator--1", Marking: "TLP:AMBER", Risk: screen.High}},
		{Address: addr, Flag: screen.IntelFlag{Partner: "jp-agency", Report: "Public report", Indicator: "indicator--2", Marking: "TLP:GREEN", Risk: screen.High}},
		{Address: addr, Flag: screen.IntelFlag{Partner: "kr-agency", Report: "Unmarked report", Indicator: "indicator--3", Marking: "unmarked", Risk: screen.High}},
	})
	full := x.Screen(screen.Query{Address: lazarusETH})
	green := x.Screen(screen.Query{Address: lazarusETH})
	green.Restrict(intel.TLPGreen)
	text := fmt.Sprint(green)
	if green.Risk != screen.High || strings.Contains(text, "Secret report") || strings.Contains(text, "us-agency") || strings.Contains(text, "Unmarked report") ||
		!strings.Contains(text, "Public report") || !strings.Contains(text, "restricted intelligence from a partner applies") {
		t.Errorf("GREEN view: %+v", green)
	}
	amber := x.Screen(screen.Query{Address: lazarusETH})
	amber.Restrict(intel.TLPAmber)
	if text := fmt.Sprint(amber); !strings.Contains(text, "Secret report") || !strings.Contains(text, "Unmarked report") {
		t.Errorf("AMBER view: %+v", amber)
	}
	if again := x.Screen(screen.Query{Address: lazarusETH}); fmt.Sprint(again) != fmt.Sprint(full) {
		t.Errorf("restricting a result changed the index:\n%+v\n%+v", again, full)
	}
}
