package screen_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/screen"
)

// TestChangeIntel applies random changes (new addresses, replaced and
// removed flags, addresses of chains without a codec found by the string
// alone) and checks after each that the index answers exactly as one
// whose intel layer was set whole from the same flags, through enough
// changes for dead items to be compacted away; then that a snapshot of
// the changed layer reads back the same.
func TestChangeIntel(t *testing.T) {
	p := newParser()
	var addrs []chain.Address
	for i := range 300 {
		switch i % 3 {
		case 0, 1:
			addrs = append(addrs, mustParse(t, p, fmt.Sprintf("0x%040x", i), chain.Ethereum))
		default:
			addrs = append(addrs, chain.Opaque("ltc", fmt.Sprintf("LTC%dxyz", i)))
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	model := map[chain.Key][]screen.IntelFlag{}
	byKey := map[chain.Key]chain.Address{}
	x := screen.NewIndex(p, nil)
	flag := func(round, n int) screen.IntelFlag {
		return screen.IntelFlag{Partner: "us", Report: fmt.Sprintf("report--%d", round), Indicator: fmt.Sprintf("indicator--%d-%d", round, n),
			Marking: "TLP:AMBER", Category: "intel", Risk: screen.High, Modified: time.Unix(int64(round), 0).UTC()}
	}
	check := func(round int, got *screen.Index) {
		t.Helper()
		want := screen.NewIndex(p, nil)
		var all []screen.IntelEntry
		for k, fs := range model {
			for _, f := range fs {
				all = append(all, screen.IntelEntry{Address: byKey[k], Flag: f})
			}
		}
		want.SetIntel(all)
		if g, w := got.Stats(), want.Stats(); g != w {
			t.Fatalf("round %d: stats %+v, want %+v", round, g, w)
		}
		for _, a := range addrs {
			if g, w := got.Lookup(a).Intel, want.Lookup(a).Intel; !reflect.DeepEqual(g, w) {
				t.Fatalf("round %d: %s flags %v, want %v", round, a.Value, g, w)
			}
			if a.Kind == chain.KindOpaque {
				// Found by the string as written, no chain named.
				g, w := got.Screen(screen.Query{Address: a.Value}), want.Screen(screen.Query{Address: a.Value})
				if !reflect.DeepEqual(g.Intel, w.Intel) || g.Risk != w.Risk {
					t.Fatalf("round %d: screening %s: %+v, want %+v", round, a.Value, g, w)
				}
			}
		}
	}
	if !x.ChangeIntel(nil) {
		t.Fatal("no layer yet: the change was refused")
	}
	for round := range 60 {
		var changes []screen.IntelChange
		for range 1 + rng.IntN(80) {
			a := addrs[rng.IntN(len(addrs))]
			var fs []screen.IntelFlag
			if rng.IntN(4) > 0 {
				for n := range 1 + rng.IntN(3) {
					fs = append(fs, flag(round, n))
				}
			}
			changes = append(changes, screen.IntelChange{Address: a, Flags: fs})
			byKey[a.Key()] = a
			if len(fs) == 0 {
				delete(model, a.Key())
			} else {
				model[a.Key()] = fs
			}
		}
		if round == 30 {
			// A whole set between changes: the next change derives from it.
			var all []screen.IntelEntry
			for k, fs := range model {
				for _, f := range fs {
					all = append(all, screen.IntelEntry{Address: byKey[k], Flag: f})
				}
			}
			x.SetIntel(all)
		}
		if !x.ChangeIntel(changes) {
			t.Fatalf("round %d: change refused", round)
		}
		check(round, x)
	}
	s := writeAndOpen(t, x)
	y := screen.NewIndex(p, nil)
	if err := s.Install(y); err != nil {
		t.Fatal(err)
	}
	check(60, y)
	// A layer read from a snapshot file is not changed in place.
	if y.ChangeIntel([]screen.IntelChange{{Address: addrs[0], Flags: []screen.IntelFlag{flag(61, 0)}}}) {
		t.Error("a snapshot file's layer was changed")
	}
	check(60, y)
}

// TestChangeIntelConcurrent reads the layer while it changes: a change
// appends to the array the previous layer's readers hold, never within
// what they read (run with -race). Each address always has flags of one
// round, all alike.
func TestChangeIntelConcurrent(t *testing.T) {
	p := newParser()
	x := screen.NewIndex(p, nil)
	var addrs []chain.Address
	for i := range 64 {
		addrs = append(addrs, mustParse(t, p, fmt.Sprintf("0x%040x", i+1), chain.Ethereum))
	}
	done := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		defer close(errs)
		for {
			select {
			case <-done:
				return
			default:
			}
			for _, a := range addrs {
				fs := x.Lookup(a).Intel
				for _, f := range fs {
					if f.Report != fs[0].Report {
						errs <- fmt.Errorf("%s: flags of two rounds: %v", a.Value, fs)
						return
					}
				}
			}
		}
	}()
	for round := range 400 {
		var changes []screen.IntelChange
		for i, a := range addrs {
			if (i+round)%3 == 0 {
				changes = append(changes, screen.IntelChange{Address: a, Flags: []screen.IntelFlag{
					{Partner: "us", Report: fmt.Sprint(round), Indicator: "a"}, {Partner: "us", Report: fmt.Sprint(round), Indicator: "b"}}})
			}
		}
		x.ChangeIntel(changes)
	}
	close(done)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}
