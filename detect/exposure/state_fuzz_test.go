package exposure

import (
	"bytes"
	"testing"

	"github.com/tracehound/tracehound/chain"
)

// FuzzHolderRecord: any bytes either fail to decode or decode to accounts
// whose record decodes to the same accounts: a saved record is never
// misread, and decoding never panics nor allocates beyond the record.
func FuzzHolderRecord(f *testing.F) {
	e := NewEngine(chain.Ethereum, 4, SourcesFunc(func(_ chain.Chain, a string) Mask {
		if a == "S" {
			return Bit("sanctioned")
		}
		if a == "X" {
			return Bit("exchange")
		}
		return 0
	}))
	pay := func(h uint64, from, to string, asset chain.Asset, n uint64) {
		e.Apply(&chain.Block{Height: h, Txs: []chain.Tx{{Hash: "t", From: from, Fee: chain.NewAmount(1),
			Transfers: []chain.Transfer{{Tx: "t", From: from, To: to, Asset: asset, Amount: chain.NewAmount(n)}}}}})
	}
	pay(1, "S", "A", chain.Native, 100)
	pay(2, "A", "B", chain.Native, 50)
	pay(3, "B", "X", "0xtoken", 7)
	pay(4, "S", "B", "0xtoken", 1<<62)
	for _, a := range []string{"A", "B", "S", "X"} {
		f.Add(appendHolder(nil, e.holders[a]))
	}
	f.Fuzz(func(t *testing.T, rec []byte) {
		h, err := decodeHolder(rec, 4)
		if err != nil {
			return
		}
		again := appendHolder(nil, h)
		h2, err := decodeHolder(again, 4)
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if third := appendHolder(nil, h2); !bytes.Equal(third, again) {
			t.Fatalf("record changes through a round trip:\n%x\n%x", again, third)
		}
	})
}
