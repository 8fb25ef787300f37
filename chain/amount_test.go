package chain_test

import (
	"encoding/json"
	"math/big"
	"testing"

	"github.com/tracehound/tracehound/chain"
)

func TestAmountExact(t *testing.T) {
	// 1.5 billion USD of ETH at the Bybit theft: about 401,000 ETH in wei,
	// beyond 64 bits.
	a, err := chain.ParseAmount("401346768858834012735322")
	if err != nil {
		t.Fatal(err)
	}
	b := chain.NewAmount(1)
	sum, overflow := a.Add(b)
	if overflow || sum.String() != "401346768858834012735323" {
		t.Fatalf("sum %s overflow %v", sum, overflow)
	}
	if d, under := b.Sub(a); !under || !d.IsZero() {
		t.Fatalf("1 - a: %s underflow %v", d, under)
	}
	// A third, pro rata, rounds down exactly.
	if got := chain.NewAmount(10).MulDiv(chain.NewAmount(1), chain.NewAmount(3)); got.String() != "3" {
		t.Fatalf("10*1/3 = %s", got)
	}
	j, err := json.Marshal(struct{ A chain.Amount }{a})
	if err != nil || string(j) != `{"A":"401346768858834012735322"}` {
		t.Fatalf("json %s %v", j, err)
	}
	var back struct{ A chain.Amount }
	if err := json.Unmarshal(j, &back); err != nil || back.A.Cmp(a) != 0 {
		t.Fatalf("round trip %s %v", back.A, err)
	}
	for _, bad := range []string{"", "-1", "1.5", "1e18", "0x10"} {
		if _, err := chain.ParseAmount(bad); err == nil {
			t.Errorf("ParseAmount(%q) accepted", bad)
		}
	}
	if _, err := chain.AmountFromBig(big.NewInt(-5)); err == nil {
		t.Error("negative big accepted")
	}
	max := new(big.Int).Lsh(big.NewInt(1), 256)
	if _, err := chain.AmountFromBig(max); err == nil {
		t.Error("2^256 accepted")
	}
}
