package detect

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/detect/features"
)

func TestScoreAccount(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var ps []chain.Posting
	for i := range 6 {
		ps = append(ps, chain.Posting{Chain: chain.Ethereum, Address: "0xabc", Incoming: i%2 == 0, Time: t0.Add(time.Duration(i) * time.Hour),
			Kind: chain.KindNative, Tx: string(rune('a' + i)), Counterparty: "0xpeer", Amount: chain.NewAmount(uint64(i+1) * 1e17)})
	}
	s, err := ScoreAccount(nil, "0xabc", ps, features.Options{}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if s.Score < 0 || s.Score > 1 || s.Illicit != (s.Score >= 0.5) || len(s.Top) == 0 || len(s.Top) > 3 {
		t.Fatalf("score %+v", s)
	}
	// Without a contract lookup or token history, those features are
	// missing, and said to be.
	for _, f := range []string{"Number of Created Contracts", "total ether sent contracts", "Total ERC20 tnxs"} {
		if !slices.Contains(s.Missing, f) {
			t.Errorf("%q not listed as missing: %v", f, s.Missing)
		}
	}
	if slices.Contains(s.Missing, "Sent tnx") {
		t.Error("a computed feature listed as missing")
	}
	if _, err := json.Marshal(s); err != nil {
		t.Fatalf("a score with missing values does not encode: %v", err)
	}
}
