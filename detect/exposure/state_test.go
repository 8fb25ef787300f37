package exposure_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/detect/exposure"
	"github.com/tracehound/tracehound/tags"
)

// savedMap keeps saved records in memory, as a snapshot file would.
type savedMap map[string][]byte

func (s savedMap) Record(addr string) ([]byte, bool, error) {
	r, ok := s[addr]
	return r, ok, nil
}

func (s savedMap) Each(fn func(string, []byte) error) error {
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range s {
			if !yield(k) {
				return
			}
		}
	}) {
		if err := fn(k, s[k]); err != nil {
			return err
		}
	}
	return nil
}

func save(t *testing.T, e *exposure.Engine) (exposure.State, savedMap) {
	t.Helper()
	m := savedMap{}
	st, err := e.Save(func(addr string, rec []byte) error {
		if _, dup := m[addr]; dup {
			return fmt.Errorf("%s saved twice", addr)
		}
		m[addr] = slices.Clone(rec)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st, m
}

// randomBlocks is a random history among a few sources and many
// addresses: payments, tokens, fees and failures.
func randomBlocks(seed uint64, n int) []*chain.Block {
	r := rand.New(rand.NewPCG(seed, 1))
	addr := func() string { return fmt.Sprintf("a%d", r.IntN(60)) }
	var out []*chain.Block
	for h := 1; h <= n; h++ {
		b := &chain.Block{Chain: chain.Ethereum, Height: uint64(h), Hash: fmt.Sprintf("h%d", h)}
		for i := range 1 + r.IntN(6) {
			hash := fmt.Sprintf("tx%d.%d", h, i)
			from, to := addr(), addr()
			if r.IntN(5) == 0 {
				from = []string{"S", "M", "X", "H"}[r.IntN(4)]
			}
			asset := chain.Native
			if r.IntN(4) == 0 {
				asset = "0xtoken"
			}
			tx := chain.Tx{Hash: hash, Index: i, From: from, Failed: r.IntN(20) == 0,
				Transfers: []chain.Transfer{{Tx: hash, From: from, To: to, Asset: asset, Amount: chain.NewAmount(uint64(1 + r.IntN(1000)))}}}
			if r.IntN(3) == 0 {
				tx.Fee = chain.NewAmount(uint64(r.IntN(5)))
			}
			b.Txs = append(b.Txs, tx)
		}
		out = append(out, b)
	}
	return out
}

var randomSources = sources{"S": tags.Sanctioned, "M": tags.Mixer, "X": tags.Exchange, "H": tags.Hack}

func allExposure(e *exposure.Engine) string {
	var out []any
	for i := range 64 {
		a := fmt.Sprintf("a%d", i)
		out = append(out, a, e.Exposure(a), e.Rated(a))
	}
	for _, a := range []string{"S", "M", "X", "H"} {
		out = append(out, a, e.Exposure(a))
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// TestSaveRestore: an engine restored from its saved accounts answers as
// the engine did, and after more blocks as an engine that applied every
// block itself; saving the restored engine gives the same records.
func TestSaveRestore(t *testing.T) {
	blocks := randomBlocks(7, 300)
	whole := exposure.NewEngine(chain.Ethereum, 4, randomSources)
	for _, b := range blocks {
		whole.Apply(b)
	}
	first := exposure.NewEngine(chain.Ethereum, 4, randomSources)
	for _, b := range blocks[:200] {
		first.Apply(b)
	}
	st, saved := save(t, first)
	if !st.Applied || st.Through != 200 || st.Hash != "h200" || st.Accounts != first.Accounts() || st.MaxHops != 4 {
		t.Fatalf("state %+v", st)
	}
	r, err := exposure.Restore(st, randomSources, saved)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := allExposure(r), allExposure(first); got != want {
		t.Fatalf("restored engine answers differently:\n got %s\nwant %s", got, want)
	}
	for _, b := range blocks[200:] {
		r.Apply(b)
	}
	if got, want := allExposure(r), allExposure(whole); got != want {
		t.Fatalf("restored engine advanced answers differently:\n got %s\nwant %s", got, want)
	}
	if r.Accounts() != whole.Accounts() {
		t.Errorf("accounts %d, want %d", r.Accounts(), whole.Accounts())
	}
	st2, saved2 := save(t, r)
	stw, savedw := save(t, whole)
	if st2 != stw {
		t.Errorf("state %+v, want %+v", st2, stw)
	}
	if len(saved2) != len(savedw) {
		t.Fatalf("%d records, want %d", len(saved2), len(savedw))
	}
	for a, rec := range savedw {
		if string(saved2[a]) != string(rec) {
			t.Errorf("%s: record differs", a)
		}
	}
}

// brokenSaved fails every read.
type brokenSaved struct{ savedMap }

func (brokenSaved) Record(string) ([]byte, bool, error) {
	return nil, false, fmt.Errorf("block 3: checksum mismatch")
}

// TestRestoreFault: a saved record that cannot be read, or does not
// decode, is reported by Err rather than answered as no exposure.
func TestRestoreFault(t *testing.T) {
	e := exposure.NewEngine(chain.Ethereum, 4, randomSources)
	for _, b := range randomBlocks(3, 50) {
		e.Apply(b)
	}
	st, saved := save(t, e)
	r, _ := exposure.Restore(st, randomSources, brokenSaved{saved})
	r.Exposure("a1")
	if r.Err() == nil {
		t.Fatal("a failed read went unreported")
	}
	if _, err := r.Save(func(string, []byte) error { return nil }); err == nil {
		t.Fatal("a faulted engine saved")
	}
	for a := range saved {
		saved[a] = append(saved[a], 0)
	}
	r, _ = exposure.Restore(st, randomSources, saved)
	r.Rated("a1")
	if err := r.Err(); err == nil {
		t.Fatal("a record with a trailing byte went unreported")
	}
	if _, err := exposure.Restore(exposure.State{Chain: chain.Ethereum, MaxHops: 0}, randomSources, saved); err == nil {
		t.Fatal("restored with 0 hops")
	}
}
