// Package bench holds benchmarks over the real data set that take too
// long to set up for the unit tests; scripts/bench.sh runs them.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btc"
	"github.com/tracehound/tracehound/chain/chaintest"
	"github.com/tracehound/tracehound/chain/eth"
	"github.com/tracehound/tracehound/chain/tron"
	"github.com/tracehound/tracehound/sanctions"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/tags"
)

type loaded struct {
	idx   *screen.Index
	raw   []string
	addrs []chain.Address
}

var (
	once sync.Once
	data loaded
)

// load builds the index over the 2025-11-19 OFAC list and every tag, and
// a query mix: one in ten addresses tagged or sanctioned, the rest random
// Ethereum and Bitcoin addresses, as deposits mostly are.
func load(b *testing.B) loaded {
	once.Do(func() {
		ctx := context.Background()
		shared := chaintest.SharedData(b)
		p := chain.NewParser(eth.Codec{}, tron.Codec{}, btc.Codec{})
		l, err := sanctions.ParseFile(ctx, filepath.Join(shared, "ofac", "sdn_advanced-2025-11-19.xml.bz2"), sanctions.ParseOptions{})
		if err != nil {
			b.Fatal(err)
		}
		db, err := pebble.Open(ctx, b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		for _, dir := range []string{"graphsense-tagpacks", "etherscan-labels"} {
			if _, err := tags.Import(ctx, db, p, filepath.Join(shared, "tags", dir), tags.ImportOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		all, err := db.AllTags(ctx)
		if err != nil {
			b.Fatal(err)
		}
		idx := screen.NewIndex(p, screen.DefaultPolicy())
		idx.SetSanctions(l.Entries)
		idx.SetTags(all)
		var raw []string
		var buf [20]byte
		for i := 0; i < 100_000; i++ {
			switch {
			case i%10 == 0:
				t := all[(i*7919)%len(all)]
				if t.Address.Chain == chain.Ethereum {
					raw = append(raw, eth.Checksum(t.Address))
				} else {
					raw = append(raw, t.Address.Value)
				}
			case i%3 == 0:
				raw = append(raw, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")
			default:
				rand.Read(buf[:])
				raw = append(raw, "0x"+hex.EncodeToString(buf[:]))
			}
		}
		var addrs []chain.Address
		for _, s := range raw {
			a, err := p.Parse(s, "")
			if err == nil {
				addrs = append(addrs, a)
			}
		}
		data = loaded{idx: idx, raw: raw, addrs: addrs}
	})
	return data
}

// BenchmarkLookupParsed is the index look-up alone, one core.
func BenchmarkLookupParsed(b *testing.B) {
	d := load(b)
	b.ReportAllocs()
	hits := 0
	for i := 0; b.Loop(); i++ {
		if !d.idx.Lookup(d.addrs[i%len(d.addrs)]).Empty() {
			hits++
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkCheckRaw parses (checksum included) and looks up raw strings,
// one core.
func BenchmarkCheckRaw(b *testing.B) {
	d := load(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, _, _, err := d.idx.Check(d.raw[i%len(d.raw)], ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
}
