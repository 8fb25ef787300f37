package screen

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/registry"
	"github.com/tracehound/tracehound/sanctions"
)

const lazarus = "0x098b716b8aaf21512996dc57eb0615e2383e2f96"

// manyListed is a sanctions list long enough to span many blocks.
func manyListed() []sanctions.Entry {
	out := []sanctions.Entry{{Asset: "ETH", Address: lazarus, Source: "OFAC SDN", Party: sanctions.Party{Name: "LAZARUS GROUP"}}}
	for i := range 2000 {
		out = append(out, sanctions.Entry{Asset: "ETH", Address: fmt.Sprintf("0x%040x", i+1), Source: "OFAC SDN", Party: sanctions.Party{Name: fmt.Sprint("PARTY ", i)}})
	}
	return out
}

// TestSnapshotCorruptBlock: a block altered after the header passed (the
// block holding Lazarus's record) is found when a look-up reads it. The
// look-up has the layers rebuilt (OnFault) and answers from them; without
// a rebuild it fails closed; Verify finds it without a look-up.
func TestSnapshotCorruptBlock(t *testing.T) {
	x := NewIndex(registry.NewParser(), nil)
	x.SetSanctions(manyListed())
	path := filepath.Join(t.TempDir(), "screening.snap")
	if _, err := WriteSnapshot(path, Saving{Store: "s", Layers: x.Layers(), Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s, err := OpenSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	sec, _ := s.h.section(secSanctions)
	l, err := openLayer(s.m, sec, sanctionCodec)
	if err != nil {
		t.Fatal(err)
	}
	val, ok, err := l.recs.get("eth", lazarus)
	if err != nil || !ok {
		t.Fatalf("lazarus: %v %v", ok, err)
	}
	off := uintptr(unsafe.Pointer(&val[0])) - uintptr(unsafe.Pointer(&s.m.data[0]))
	if uint64(off)/blockSize == (sec.off+sec.len-1)/blockSize {
		t.Fatal("the record shares the footer's block")
	}
	s.Close()
	b, _ := os.ReadFile(path)
	b[off] ^= 0x10
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	// An address whose look-up reads no damaged block (its slot, offset
	// and record lie elsewhere): the layout follows the index's hashing,
	// so it is looked for.
	intact := ""
	for i := 1; i <= 2000 && intact == ""; i++ {
		// A fault is remembered by the mapping: a fresh one each.
		bad, err := OpenSnapshot(path)
		if err != nil {
			t.Fatal(err)
		}
		sec, _ := bad.h.section(secSanctions)
		bl, err := openLayer(bad.m, sec, sanctionCodec)
		if err != nil {
			t.Fatal(err)
		}
		a := fmt.Sprintf("0x%040x", i)
		if _, ok, err := bl.recs.get("eth", a); err == nil && ok {
			intact = a
		}
		bad.Close()
	}
	if intact == "" {
		t.Fatal("every look-up reads the damaged block")
	}
	want := x.Screen(Query{Address: lazarus})
	if !want.Sanctioned {
		t.Fatalf("%+v", want)
	}
	for _, rebuild := range []bool{true, false} {
		bad, err := OpenSnapshot(path)
		if err != nil {
			t.Fatalf("the header should pass: %v", err)
		}
		y := NewIndex(registry.NewParser(), nil)
		if err := bad.Install(y); err != nil {
			t.Fatal(err)
		}
		if r := y.Screen(Query{Address: intact}); r.Error != nil || r.Risk == Unknown {
			t.Fatalf("an intact block: %+v", r)
		}
		var faults []error
		y.OnFault(func(err error) error {
			faults = append(faults, err)
			if !rebuild {
				return err
			}
			y.SetSanctions(manyListed())
			y.SetTags(nil)
			y.SetIntel(nil)
			return nil
		})
		r := y.Screen(Query{Address: lazarus})
		if len(faults) != 1 || !errors.Is(faults[0], ErrCorrupt) || !strings.Contains(faults[0].Error(), path) {
			t.Fatalf("rebuild %v: faults %v", rebuild, faults)
		}
		if rebuild && (!r.Sanctioned || r.Risk != want.Risk || len(r.Sanctions) != 1) {
			t.Errorf("after the rebuild: %+v", r)
		}
		if !rebuild && (r.Risk != Unknown || r.RiskRule != RuleFailClosed || len(r.Reasons) != 1 || r.Reasons[0].Code != "index_fault") {
			t.Errorf("without a rebuild: %+v", r)
		}
		if _, _, _, err := y.Check(lazarus, chain.Ethereum); rebuild == (err != nil) {
			t.Errorf("rebuild %v: check: %v", rebuild, err)
		}
		bad.Close()
	}
	again, _ := OpenSnapshot(path)
	defer again.Close()
	if err := again.Verify(); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("verify: %v", err)
	}
}
