package exchange

import (
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// USDT sent to an instant exchange on Ethereum and paid out as USDT on
// Tron: the payout that fits the fee range and the window ranks first;
// one outside the window or below the fee range is no candidate.
func TestMatch(t *testing.T) {
	t0 := time.Date(2025, 2, 22, 10, 0, 0, 0, time.UTC)
	dep := chain.Transfer{Chain: chain.Ethereum, Amount: chain.NewAmount(100_000_000_000), Time: t0} // 100,000 USDT
	p := Params{RateNum: chain.NewAmount(1), RateDen: chain.NewAmount(1), MinFeeBps: 10, MaxFeeBps: 100, MinDelay: time.Minute, MaxDelay: time.Hour}
	pay := func(amount uint64, after time.Duration) chain.Transfer {
		return chain.Transfer{Chain: chain.Tron, Amount: chain.NewAmount(amount), Time: t0.Add(after)}
	}
	payouts := []chain.Transfer{
		pay(99_500_000_000, 50*time.Minute), // 50 bps, late
		pay(99_450_000_000, 5*time.Minute),  // 55 bps, early: best
		pay(99_500_000_000, 2*time.Hour),    // outside the window
		pay(98_000_000_000, 5*time.Minute),  // 200 bps: over the fee range
		pay(100_000_000_000, 5*time.Minute), // no fee: under the range
		pay(99_500_000_000, 30*time.Second), // too soon
	}
	cs, err := Match(dep, payouts, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Payout.Amount != chain.NewAmount(99_450_000_000) || cs[0].Confidence <= cs[1].Confidence {
		t.Fatalf("%+v", cs)
	}
	if f := cs[0].FeeBps; f < 54.99 || f > 55.01 {
		t.Fatalf("fee %v bps", f)
	}
	for _, c := range cs {
		if c.Confidence <= 0 || c.Confidence > 1 {
			t.Fatalf("confidence %v", c.Confidence)
		}
	}
	// Alone, a fit is more certain than beside another.
	one, _ := Match(dep, payouts[1:2], p)
	if one[0].Confidence <= cs[0].Confidence {
		t.Fatalf("unique %v, shared %v", one[0].Confidence, cs[0].Confidence)
	}
	// ETH into BTC at a rate: 10 ETH at 0.05 BTC/ETH is 0.5 BTC gross.
	eth := chain.Transfer{Amount: chain.NewAmount(10e18), Time: t0}
	rate := Params{RateNum: chain.NewAmount(5e6), RateDen: chain.NewAmount(1e18), MinFeeBps: 0, MaxFeeBps: 300, MaxDelay: time.Hour}
	if cs, _ := Match(eth, []chain.Transfer{pay(49_000_000, time.Minute)}, rate); len(cs) != 1 {
		t.Fatalf("rate: %+v", cs)
	}
	if _, err := Match(dep, payouts, Params{}); err == nil {
		t.Fatal("no rate accepted")
	}
}
