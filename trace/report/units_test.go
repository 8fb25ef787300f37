package report

import (
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain"
)

func amount(t *testing.T, s string) chain.Amount {
	t.Helper()
	a, err := chain.ParseAmount(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAmountText(t *testing.T) {
	usdt := chain.Asset("0xdac17f958d2ee523a2206206994597c13d831ec7")
	units := Table{chain.Ethereum: {usdt: {Symbol: "USDT", Decimals: 6}}}
	for _, c := range []struct {
		c          chain.Chain
		asset      chain.Asset
		base, text string
		value      string
		baseText   string
	}{
		{chain.Ethereum, "", "10000000000000000000000", "10,000 ETH", "10000", "10000000000000000000000 wei"},
		{chain.Ethereum, "", "1", "0.000000000000000001 ETH", "0.000000000000000001", "1 wei"},
		{chain.Ethereum, "", "0", "0 ETH", "0", "0 wei"},
		{chain.Ethereum, "", "401346768600000000000000", "401,346.7686 ETH", "401346.7686", "401346768600000000000000 wei"},
		{chain.Bitcoin, "", "150000000", "1.5 BTC", "1.5", "150000000 satoshi"},
		{chain.Ethereum, usdt, "2500500000", "2,500.5 USDT", "2500.5", "2500500000 base units of token " + string(usdt)},
	} {
		a := NewAmount(c.c, c.asset, amount(t, c.base), units)
		if a.Text != c.text || a.Value != c.value || a.BaseText != c.baseText || !a.Known || a.Base.String() != c.base {
			t.Errorf("%s %s %s: %+v", c.c, c.asset, c.base, a)
		}
	}
	unknown := NewAmount(chain.Ethereum, "0x00000000000000000000000000000000000000aa", amount(t, "12345"), units)
	if unknown.Known || unknown.Value != "" || !strings.Contains(unknown.Text, "12345 base units of token 0x00000000000000000000000000000000000000aa") || !strings.Contains(unknown.Text, "decimals unknown") {
		t.Errorf("unknown token: %+v", unknown)
	}
	// Units may override a coin: BSC's is BNB, kept in the eth graph.
	bnb := NewAmount(chain.Ethereum, "", amount(t, "5"+strings.Repeat("0", 17)), Table{chain.Ethereum: {"": {Symbol: "BNB", Decimals: 18}}})
	if bnb.Text != "0.5 BNB" || bnb.BaseText != "500000000000000000 base units" {
		t.Errorf("BNB: %+v", bnb)
	}
}

// TestDecimalExact: the whole-unit value times 10^decimals is the base
// amount, for random amounts up to 2^256-1 and decimals up to 30.
func TestDecimalExact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	max := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
	for range 5000 {
		n := new(big.Int).Rsh(max, uint(r.IntN(257)))
		n.Mul(n, big.NewInt(r.Int64N(1000))).Rem(n, new(big.Int).Add(max, big.NewInt(1)))
		dec := r.IntN(31)
		v := decimal(n.String(), dec)
		whole, frac, _ := strings.Cut(v, ".")
		if len(frac) > dec || strings.HasSuffix(frac, "0") || whole == "" || len(whole) > 1 && whole[0] == '0' {
			t.Fatalf("%s at %d decimals: %q", n, dec, v)
		}
		back, ok := new(big.Int).SetString(whole+frac+strings.Repeat("0", dec-len(frac)), 10)
		if !ok || back.Cmp(n) != 0 {
			t.Fatalf("%s at %d decimals: %q reads back as %s", n, dec, v, back)
		}
		g := group(v)
		if strings.ReplaceAll(g, ",", "") != v {
			t.Fatalf("%q grouped as %q", v, g)
		}
	}
}
