package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/chain"
)

func openGraph(t testing.TB) *Store {
	t.Helper()
	d, err := openDir(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d.Store
}

// viewBlocks gives hub n transfers in each direction: Ethereum-style and
// string counterparties, the native coin and a token, amounts up to 2^256-1.
func viewBlocks(c chain.Chain, hub string, n int) []*chain.Block {
	prefix := "0x"
	if c == chain.Bitcoin {
		prefix = ""
	}
	token := chain.Asset("0x" + strings.Repeat("7e", 20))
	big, _ := chain.ParseAmount("115792089237316195423570985008687907853269984665640564039457584007913129639935")
	var out []*chain.Block
	for h := 1; h <= n; h++ {
		ts := time.Unix(1_700_000_000+int64(h)*12, 0).UTC()
		tx := fmt.Sprintf("%s%064x", prefix, h)
		cp := fmt.Sprintf("0x%040x", h)
		if h%3 == 0 {
			cp = fmt.Sprintf("peer-%d", h)
		}
		asset, amt := chain.Native, chain.NewAmount(uint64(h))
		if h%2 == 0 {
			asset = token
		}
		if h == n {
			amt = big
		}
		tr := func(kind chain.TransferKind, pos uint32, from, to string) chain.Transfer {
			return chain.Transfer{Chain: c, Tx: tx, Kind: kind, Pos: pos, Block: uint64(h), Time: ts, From: from, To: to, Asset: asset, Amount: amt}
		}
		out = append(out, &chain.Block{Chain: c, Height: uint64(h), Hash: fmt.Sprintf("%s%064x", prefix, 1000+h), Parent: fmt.Sprintf("%s%064x", prefix, 999+h), Time: ts,
			Txs: []chain.Tx{{Hash: tx, Index: 0, From: hub, Transfers: []chain.Transfer{tr(chain.KindNative, 0, cp, hub), tr(chain.KindToken, 3, hub, cp)}}}})
	}
	return out
}

// TestPostingViews reads the same postings as views and as Postings, and
// checks each view's text against its bytes.
func TestPostingViews(t *testing.T) {
	ctx := context.Background()
	const hub = "0x" + "ab" + "00000000000000000000000000000000000000"
	for _, c := range []chain.Chain{chain.Ethereum, chain.Bitcoin} {
		d := openGraph(t)
		// WriteBlocks keeps Bitcoin's value model apart; the postings'
		// encoding is the same for every chain, so write them directly.
		if err := d.writePostingsForTest(c, viewBlocks(c, hub, 40)); err != nil {
			t.Fatal(err)
		}
		for _, q := range []PostingQuery{{}, {Oldest: true}, {Limit: 7}, {Incoming: true}, {Outgoing: true, Oldest: true, Limit: 5}} {
			var want []Posting
			if err := d.Postings(ctx, c, hub, q, func(p Posting) bool { want = append(want, p); return true }); err != nil {
				t.Fatal(err)
			}
			var got []Posting
			err := d.PostingViews(ctx, c, hub, q, func(v *PostingView) bool {
				p := v.Posting()
				if h := v.TxHash(); p.Tx != hashString(c, h[:]) || string(v.AppendTx(nil)) != p.Tx {
					t.Errorf("tx %q, bytes %x, appended %q", p.Tx, h, v.AppendTx(nil))
				}
				if string(v.AppendCounterparty([]byte("x"))) != "x"+p.Counterparty {
					t.Errorf("counterparty %q, appended %q", p.Counterparty, v.AppendCounterparty(nil))
				}
				if a, ok := v.Counterparty20(); ok != isHex20(p.Counterparty) || ok && addrText(addrHex20, a[:]) != p.Counterparty {
					t.Errorf("counterparty %q: 20 bytes %x, %v", p.Counterparty, a, ok)
				}
				if !v.IsAsset(p.Asset) || v.IsAsset(p.Asset+"0") || v.IsAsset(chain.Asset("0x"+strings.Repeat("00", 20))) {
					t.Errorf("IsAsset wrong for %q", p.Asset)
				}
				got = append(got, p)
				return true
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s %+v: views read\n%v\nPostings read\n%v", c, q, got, want)
			}
		}
	}
}

// writePostingsForTest writes blocks' transfers as postings with the
// graph writer's encoding, without the rest of WriteBlocks.
func (d *Store) writePostingsForTest(c chain.Chain, blocks []*chain.Block) error {
	b := d.db.NewBatch()
	defer b.Close()
	for _, blk := range blocks {
		for i, tx := range blk.Txs {
			th, err := hashBytes(tx.Hash)
			if err != nil {
				return err
			}
			for _, tr := range tx.Transfers {
				for _, p := range []struct {
					dir      byte
					addr, cp string
				}{{postingOut, tr.From, tr.To}, {postingIn, tr.To, tr.From}} {
					k := postingKey(nil, c, p.addr, tr.Time.Unix(), blk.Height, uint32(i), tr.Kind, tr.Pos, p.dir)
					v := append([]byte(nil), th...)
					v = appendAddr(v, p.cp)
					v = appendAddr(v, string(tr.Asset))
					e := enc{b: v}
					e.amount(tr.Amount)
					if err := b.Set(k, e.b, nil); err != nil {
						return err
					}
				}
			}
		}
	}
	return b.Commit(pebble.Sync)
}

// TestPostingViewsAllocate checks that reading views costs a few
// allocations a read, not one a posting.
func TestPostingViewsAllocate(t *testing.T) {
	ctx := context.Background()
	const hub = "0x" + "cd" + "00000000000000000000000000000000000000"
	d := openGraph(t)
	if err := d.writePostingsForTest(chain.Ethereum, viewBlocks(chain.Ethereum, hub, 500)); err != nil {
		t.Fatal(err)
	}
	var sum uint64
	allocs := testing.AllocsPerRun(20, func() {
		n := 0
		err := d.PostingViews(ctx, chain.Ethereum, hub, PostingQuery{Limit: 1000}, func(v *PostingView) bool {
			n++
			h := v.TxHash()
			sum += uint64(h[31]) + v.Block
			return true
		})
		if err != nil || n != 1000 {
			t.Fatalf("%d postings, %v", n, err)
		}
	})
	t.Logf("%.0f allocations to read 1,000 views", allocs)
	if allocs > 20 {
		t.Errorf("%.0f allocations to read 1,000 views", allocs)
	}
}

// TestPostingsCorrupt stores broken postings: each read must fail with
// errCorrupt, not panic or skip.
func TestPostingsCorrupt(t *testing.T) {
	ctx := context.Background()
	const hub = "0x" + "ef" + "00000000000000000000000000000000000000"
	goodKey := postingKey(nil, chain.Ethereum, hub, 1_700_000_000, 1, 0, chain.KindNative, 0, postingIn)
	goodVal := appendAddr(appendAddr(bytes.Repeat([]byte{7}, 32), "0x"+strings.Repeat("12", 20)), "")
	goodVal = append(goodVal, 1, 5)
	for _, c := range []struct {
		name string
		k, v []byte
	}{
		{"short key", goodKey[:len(goodKey)-3], goodVal},
		{"long key", append(append([]byte(nil), goodKey...), 0), goodVal},
		{"bad direction", append(append([]byte(nil), goodKey[:len(goodKey)-1]...), 9), goodVal},
		{"empty value", goodKey, nil},
		{"short hash", goodKey, goodVal[:20]},
		{"bad counterparty tag", goodKey, append(append(bytes.Repeat([]byte{7}, 32), 9), goodVal[32:]...)},
		{"no amount", goodKey, goodVal[:len(goodVal)-2]},
		{"short amount", goodKey, goodVal[:len(goodVal)-1]},
		{"trailing bytes", goodKey, append(append([]byte(nil), goodVal...), 0)},
		{"amount over 256 bits", goodKey, append(append([]byte(nil), goodVal[:len(goodVal)-2]...), append([]byte{33}, bytes.Repeat([]byte{1}, 33)...)...)},
	} {
		d := openGraph(t)
		if err := d.db.Set(c.k, c.v, pebble.Sync); err != nil {
			t.Fatal(err)
		}
		err := d.PostingViews(ctx, chain.Ethereum, hub, PostingQuery{}, func(*PostingView) bool { return true })
		if !errors.Is(err, errCorrupt) {
			t.Errorf("%s: views: %v", c.name, err)
		}
		err = d.Postings(ctx, chain.Ethereum, hub, PostingQuery{}, func(Posting) bool { return true })
		if !errors.Is(err, errCorrupt) {
			t.Errorf("%s: postings: %v", c.name, err)
		}
	}
	// The intact posting reads.
	d := openGraph(t)
	if err := d.db.Set(goodKey, goodVal, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := d.Postings(ctx, chain.Ethereum, hub, PostingQuery{}, func(p Posting) bool {
		if p.Amount.String() != "5" || p.Counterparty != "0x"+strings.Repeat("12", 20) {
			t.Errorf("read %+v", p)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
}

// FuzzDecodePosting feeds arbitrary keys and values to the posting
// decoder: it must fail cleanly or give a view whose every accessor works
// and whose fields, encoded again, read back the same.
func FuzzDecodePosting(f *testing.F) {
	k := postingKey(nil, chain.Ethereum, "", 1_700_000_000, 9, 2, chain.KindToken, 3, postingOut)[len(gPost)+len(chain.Ethereum)+2:]
	v := appendAddr(appendAddr(bytes.Repeat([]byte{7}, 32), "0x"+strings.Repeat("12", 20)), "bc1q")
	f.Add(k, append(v, 1, 5))
	f.Add(k, append(v, 0))
	f.Add(k[:5], []byte{1})
	f.Fuzz(func(t *testing.T, k, val []byte) {
		var v PostingView
		v.Chain = chain.Ethereum
		if err := decodePosting(&v, k, val); err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("error %v is not errCorrupt", err)
			}
			return
		}
		p := v.Posting()
		v.AppendTx(nil)
		v.AppendCounterparty(nil)
		v.Counterparty20()
		if !v.IsAsset(p.Asset) {
			t.Fatalf("asset %q does not match its own encoding %x", p.Asset, v.asset)
		}
		re := append(bytes.Clone(v.tx), appendAddr(nil, p.Counterparty)...)
		re = appendAddr(re, string(p.Asset))
		e := enc{b: re}
		e.amount(p.Amount)
		var again PostingView
		again.Chain = chain.Ethereum
		if err := decodePosting(&again, k, e.b); err != nil || again.Posting() != p {
			t.Fatalf("%+v re-encoded as %x, read back as %+v, %v", p, e.b, again.Posting(), err)
		}
	})
}

// BenchmarkPostingRead reads an address's 1,000 most recent postings from
// the block cache, as views and as Postings.
func BenchmarkPostingRead(b *testing.B) {
	ctx := context.Background()
	const hub = "0x" + "ab" + "00000000000000000000000000000000000000"
	d := openGraph(b)
	if err := d.writePostingsForTest(chain.Ethereum, viewBlocks(chain.Ethereum, hub, 2000)); err != nil {
		b.Fatal(err)
	}
	q := PostingQuery{Limit: 1000}
	b.Run("views", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := d.PostingViews(ctx, chain.Ethereum, hub, q, func(*PostingView) bool { return true }); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("postings", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := d.Postings(ctx, chain.Ethereum, hub, q, func(Posting) bool { return true }); err != nil {
				b.Fatal(err)
			}
		}
	})
}
