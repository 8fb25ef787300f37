package trace_test

import (
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btc"
	"github.com/tracehound/tracehound/chain/eth"
	"github.com/tracehound/tracehound/trace"
)

// FuzzParseSeed: any text gives a seed or an error, never a panic, and a
// seed read back from its own String form is the same seed.
func FuzzParseSeed(f *testing.F) {
	for _, s := range []string{
		"0x098B716B8Aaf21512996dC57EB0615e2383E2f96",
		"0x098b716b8aaf21512996dc57eb0615e2383e2f96=401346000000000000000000@2025-02-21T14:13:00Z",
		"0x" + "ab12" + "0000000000000000000000000000000000000000000000000000000000cd",
		"0x00000000000000000000000000000000000000000000000000000000000000aa:0x098b716b8aaf21512996dc57eb0615e2383e2f96=5",
		"f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16:0",
		"f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16:1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3@2009-01-12",
		"1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3=-1", "=@:", "@", "x:y:z", "",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	p := chain.NewParser(eth.Codec{}, btc.Codec{})
	f.Fuzz(func(t *testing.T, spec string, eth bool) {
		c := chain.Bitcoin
		if eth {
			c = chain.Ethereum
		}
		sd, err := trace.ParseSeed(p, c, spec)
		if err != nil {
			return
		}
		if sd.Address == "" && sd.Tx == "" {
			t.Fatalf("%q: an empty seed", spec)
		}
		again, err := trace.ParseSeed(p, c, sd.String())
		if err != nil {
			t.Fatalf("%q read as %q, which does not read back: %v", spec, sd.String(), err)
		}
		if again.String() != sd.String() || !again.Since.Equal(sd.Since) || again.Amount.Cmp(sd.Amount) != 0 {
			t.Fatalf("%q: %+v, read back as %+v", spec, sd, again)
		}
	})
}
