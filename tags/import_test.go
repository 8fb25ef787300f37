package tags_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btc"
	"github.com/tracehound/tracehound/chain/chaintest"
	"github.com/tracehound/tracehound/chain/eth"
	"github.com/tracehound/tracehound/chain/tron"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/tags"
)

func parser() *chain.Parser { return chain.NewParser(eth.Codec{}, tron.Codec{}, btc.Codec{}) }

const pack = `title: Test pack
source: https://example.org/report
category: exchange
confidence: web_crawl
lastmod: 2024-03-01
currency: BTC 
label: Header Exchange
tags:
- address: ' 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa '
- address: 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb
- address: 0x098B716B8Aaf21512996dC57EB0615e2383E2f96
  currency: ETH
  label: Lazarus
  actor: lazarus_group
  abuse: service_hack
  category: ''
  confidence: authority_data
- address: LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb
  currency: LTC
`

func TestTagPackInheritanceAndProblems(t *testing.T) {
	ts, problems, err := tags.ParseTagPack([]byte(pack), "test.yaml", parser())
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 3 || len(problems) != 1 {
		t.Fatalf("%d tags, problems %v", len(ts), problems)
	}
	if p := problems[0]; p.Line != 10 || p.Reason != chain.ReasonChecksum || p.File != "test.yaml" {
		t.Errorf("problem %+v", p)
	}
	h := ts[0]
	if h.Address.Value != "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa" || h.Entity != "Header Exchange" || h.Category != tags.Exchange ||
		h.Confidence != 20 || h.Source != "https://example.org/report" || h.Pack != "Test pack" || h.LastMod.Format("2006-01-02") != "2024-03-01" {
		t.Errorf("inherited tag %+v", h)
	}
	l := ts[1]
	if l.Address.Value != "0x098b716b8aaf21512996dc57eb0615e2383e2f96" || l.Entity != "lazarus_group" || l.Category != tags.Hack || l.Confidence != 60 {
		t.Errorf("own fields %+v", l)
	}
	if ltc := ts[2]; ltc.Address.Chain != "ltc" || ltc.Address.Kind != "opaque" {
		t.Errorf("opaque %+v", ltc)
	}
}

func TestImportRealData(t *testing.T) {
	root := chaintest.SharedData(t, "tags")
	ctx := context.Background()
	db, err := pebble.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rep, err := tags.Import(ctx, db, parser(), filepath.Join(root, "graphsense-tagpacks", "packs", "binance.yaml"), tags.ImportOptions{})
	if err != nil || rep.Files != 1 || rep.Tags == 0 {
		t.Fatalf("%+v %v", rep, err)
	}
	// Importing the same pack again replaces it.
	rep2, err := tags.Import(ctx, db, parser(), filepath.Join(root, "graphsense-tagpacks", "packs", "binance.yaml"), tags.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rep3, err := tags.Import(ctx, db, parser(), filepath.Join(root, "etherscan-labels"), tags.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	all, err := db.AllTags(ctx)
	if err != nil || len(all) != rep2.Tags+rep3.Tags {
		t.Fatalf("%d tags stored, want %d + %d: %v", len(all), rep2.Tags, rep3.Tags, err)
	}
	var found bool
	for _, tg := range all {
		if tg.Address.Value == "0x28c6c06298d514db089934071355e5743bf21d60" && tg.Source == "etherscan" {
			found = true
			if tg.Category != tags.Exchange || !strings.HasPrefix(tg.Entity, "Binance") || tg.Label != "Binance 14" {
				t.Errorf("Binance 14: %+v", tg)
			}
		}
	}
	if !found {
		t.Error("Binance 14 hot wallet not imported from Etherscan labels")
	}
}

func FuzzParseTagPack(f *testing.F) {
	f.Add([]byte(pack))
	f.Add([]byte("tags: [1, {address: x}]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, _, err := tags.ParseTagPack(b, "fuzz.yaml", parser())
		if err != nil {
			return
		}
		for _, tg := range ts {
			if tg.Address.Value == "" || tg.Address.Value != strings.TrimSpace(tg.Address.Value) {
				t.Fatalf("bad tag %+v", tg)
			}
		}
	})
}
