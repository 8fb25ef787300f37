package exposure_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/detect/exposure"
	"github.com/tracehound/tracehound/tags"
)

// memGraph is the postings of a list of blocks, as the transfer graph
// gives them: per address, in chain order.
type memGraph map[string][]chain.Posting

func postingsOf(blocks []*chain.Block) memGraph {
	g := memGraph{}
	for _, b := range blocks {
		for _, tx := range b.Txs {
			for i, t := range tx.Transfers {
				if t.From == t.To {
					continue
				}
				p := chain.Posting{Chain: b.Chain, Block: b.Height, TxIndex: uint32(tx.Index), Kind: t.Kind, Pos: uint32(i), Tx: tx.Hash, Asset: t.Asset, Amount: t.Amount}
				out, in := p, p
				out.Address, out.Counterparty = t.From, t.To
				in.Address, in.Counterparty, in.Incoming = t.To, t.From, true
				g[t.From] = append(g[t.From], out)
				g[t.To] = append(g[t.To], in)
			}
		}
	}
	return g
}

func (g memGraph) Postings(ctx context.Context, addr string, asset chain.Asset, through uint64, fn func(chain.Posting) bool) error {
	for _, p := range g[addr] {
		if p.Block > through || (asset != exposure.AnyAsset && p.Asset != asset) {
			continue
		}
		if !fn(p) {
			return nil
		}
	}
	return nil
}

// randomChain is a history where taint mixes with clean funds hop after
// hop: 300 blocks of 15 payments among 120 addresses, in two assets.
func randomChain(seed uint64) ([]*chain.Block, []string) {
	r := rand.New(rand.NewPCG(seed, 7))
	addrs := make([]string, 120)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("0x%040x", i+1)
	}
	var blocks []*chain.Block
	for h := uint64(1); h <= 300; h++ {
		b := &chain.Block{Chain: chain.Ethereum, Height: h}
		for i := range 15 {
			from, to := addrs[r.IntN(len(addrs))], addrs[r.IntN(len(addrs))]
			asset := chain.Native
			if r.IntN(4) == 0 {
				asset = "0xtoken"
			}
			tx := fmt.Sprintf("0x%032x%032x", h, i)
			v := chain.NewAmount(1 + r.Uint64N(1_000_000_000))
			b.Txs = append(b.Txs, chain.Tx{Hash: tx, Index: i, From: from,
				Transfers: []chain.Transfer{{Chain: chain.Ethereum, Tx: tx, Kind: chain.KindNative, Block: h, From: from, To: to, Asset: asset, Amount: v}}})
		}
		blocks = append(blocks, b)
	}
	return blocks, addrs
}

type key struct {
	addr string
	cat  tags.Category
	dir  exposure.Direction
	hops int
	a    chain.Asset
}

func entries(e *exposure.Engine, addrs []string) map[key]exposure.Entry {
	out := map[key]exposure.Entry{}
	for _, a := range addrs {
		for _, x := range e.Rated(a) {
			out[key{a, x.Category, x.Direction, x.Hops, x.Asset}] = x
		}
	}
	return out
}

// TestAddSources: a source added to an engine, followed forward through
// the postings, gives what a replay of the chain with the source from the
// start gives: exactly for a category no other source has. For one that
// mixes with another source's, the new source had been passing that
// source's taint on, which a replay no longer counts: the answer may
// overstate, never understate, by what went through it (under 2 % here),
// until the rebuild.
func TestAddSources(t *testing.T) {
	blocks, addrs := randomChain(1)
	g := postingsOf(blocks)
	before := sources{addrs[3]: tags.Hack, addrs[4]: tags.Mixer, addrs[5]: tags.Exchange}
	after := sources{addrs[3]: tags.Hack, addrs[4]: tags.Mixer, addrs[5]: tags.Exchange, addrs[10]: tags.Scam, addrs[11]: tags.Hack}

	replay := exposure.NewEngine(chain.Ethereum, 0, after)
	inc := exposure.NewEngine(chain.Ethereum, 0, before)
	for _, b := range blocks {
		replay.Apply(b)
		inc.Apply(b)
	}
	st, err := inc.AddSources(context.Background(), g, map[string]exposure.Mask{addrs[10]: exposure.Bit(tags.Scam), addrs[11]: exposure.Bit(tags.Hack)}, after)
	if err != nil {
		t.Fatal(err)
	}
	if st.Sources != 2 || st.Affected == 0 || st.Arrivals == 0 {
		t.Fatalf("stats %+v", st)
	}
	want, got := entries(replay, addrs), entries(inc, addrs)
	scam := 0
	for k, w := range want {
		gx, ok := got[k]
		if !ok {
			t.Errorf("%+v: missing after adding the sources; want %s", k, w.Amount)
			continue
		}
		switch k.cat {
		case tags.Scam:
			scam++
			if gx.Amount.Cmp(w.Amount) != 0 || gx.Direct.Cmp(w.Direct) != 0 || gx.Share != w.Share {
				t.Errorf("%+v: %s (direct %s), replay %s (direct %s)", k, gx.Amount, gx.Direct, w.Amount, w.Direct)
			}
		default:
			lo, _ := w.Amount.Uint64()
			v, _ := gx.Amount.Uint64()
			if v+64 < lo || v > lo+lo/50+64 {
				t.Errorf("%+v: %s, replay %s", k, gx.Amount, w.Amount)
			}
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%+v: present after adding the sources, absent in the replay", k)
		}
	}
	if scam < 20 {
		t.Fatalf("only %d scam entries: the history does not exercise the propagation", scam)
	}
	// Blocks applied afterwards carry the new taint on as a replay does.
	more, _ := randomChain(2)
	for i, b := range more {
		b.Height = uint64(301 + i)
		replay.Apply(b)
		inc.Apply(b)
	}
	want, got = entries(replay, addrs), entries(inc, addrs)
	for k, w := range want {
		if k.cat != tags.Scam {
			continue
		}
		if gx := got[k]; gx.Amount.Cmp(w.Amount) != 0 {
			t.Errorf("after more blocks %+v: %s, replay %s", k, gx.Amount, w.Amount)
		}
	}
	if len(want) == 0 {
		t.Fatal("no exposure at all")
	}
}
