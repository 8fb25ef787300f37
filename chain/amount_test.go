package chain_test

import (
	"bytes"
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

func TestAmountAppendBytes(t *testing.T) {
	for _, s := range []string{"0", "1", "255", "256", "1000000000000000000", "115792089237316195423570985008687907853269984665640564039457584007913129639935"} {
		a, err := chain.ParseAmount(s)
		if err != nil {
			t.Fatal(err)
		}
		got := a.AppendBytes([]byte{7})
		if !bytes.Equal(got[1:], a.Bytes()) || got[0] != 7 || a.ByteLen() != len(a.Bytes()) {
			t.Errorf("%s: AppendBytes %x, ByteLen %d; Bytes %x", s, got, a.ByteLen(), a.Bytes())
		}
	}
}
