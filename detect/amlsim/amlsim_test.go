package amlsim

import (
	"math/big"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain/chaintest"
)

func TestParseCents(t *testing.T) {
	for in, want := range map[string]string{"147.8": "14780", "12": "1200", "0.05": "5", ".5": "50", "0": "0", "0.00": "0", "007.10": "710", " 3.21 ": "321"} {
		got, err := ParseCents(in)
		if err != nil || got.String() != want {
			t.Errorf("ParseCents(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", ".", "1.234", "-1", "1e3", "1,5", "0x10", "1.2.3"} {
		if _, err := ParseCents(in); err == nil {
			t.Errorf("ParseCents(%q) accepted", in)
		}
	}
}

// FuzzParseCents checks the parser against exact rational arithmetic: an
// accepted string is a decimal whose value times 100 is the result.
func FuzzParseCents(f *testing.F) {
	for _, s := range []string{"147.8", "0.05", "12", ".5", "1.234", "-1", "99999999999999999999999.99"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseCents(s)
		if err != nil {
			return
		}
		r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
		if !ok || strings.ContainsAny(s, "eE+-/") {
			t.Fatalf("ParseCents(%q) accepted what is not a plain decimal", s)
		}
		r.Mul(r, big.NewRat(100, 1))
		if !r.IsInt() || r.Num().Cmp(got.Big()) != 0 {
			t.Fatalf("ParseCents(%q) = %s, want %s", s, got, r.RatString())
		}
	})
}

func TestOpenTGZ(t *testing.T) {
	g, err := OpenTGZ(chaintest.SharedData(t, "detection", "amlsim", "20K_cycle200.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	// The counts the data set's README states.
	if len(g.Accounts) != 20000 || len(g.Fraud()) != 945 || len(g.Transfers) != 117805 {
		t.Fatalf("%d accounts, %d fraud, %d transfers", len(g.Accounts), len(g.Fraud()), len(g.Transfers))
	}
	first := g.Transfers[0]
	if first.From != "280" || first.To != "15349" || first.Amount.String() != "14780" || first.Block != 1 {
		t.Fatalf("first transfer %+v", first)
	}
	active := g.Active()
	if len(active) == 0 || len(active) > len(g.Fraud()) {
		t.Fatalf("%d active fraud accounts", len(active))
	}
	for a := range active {
		if !g.Accounts[a].Fraud {
			t.Fatalf("active account %s is not fraud", a)
		}
	}
	for a := range g.ClosedCycles() {
		if !active[a] {
			t.Fatalf("cycle account %s is not active", a)
		}
	}
	if _, err := OpenTGZ(filepath.Join(t.TempDir(), "none.tgz")); err == nil {
		t.Fatal("a missing file opened")
	}
}
