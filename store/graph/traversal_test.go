package graph

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
)

// randomBlocks makes n Ethereum blocks from height from on: native,
// internal and token transfers among a small pool of addresses (some not
// hex, so that the dictionary holds strings too), amounts past 64 bits,
// transfers to oneself, mints from no one, several a transaction.
func randomBlocks(seed uint64, from, n int) []*chain.Block {
	r := rand.New(rand.NewPCG(seed, 99))
	pool := make([]string, 60)
	for i := range pool {
		if i%7 == 3 {
			pool[i] = fmt.Sprintf("Name-%d", i)
		} else {
			pool[i] = fmt.Sprintf("0x%040x", 0xabc000+i)
		}
	}
	tokens := []chain.Asset{chain.Native, chain.Asset("0x" + strings.Repeat("7", 40)), chain.Asset("0x" + strings.Repeat("8", 40))}
	var out []*chain.Block
	for h := from; h < from+n; h++ {
		ts := time.Unix(1_700_000_000+int64(h)*12, 0).UTC()
		b := &chain.Block{Chain: chain.Ethereum, Height: uint64(h), Hash: fmt.Sprintf("0x%064x", seed<<40|uint64(h)), Time: ts}
		for i := range r.IntN(6) {
			th := fmt.Sprintf("0x%064x", seed<<48|uint64(h)<<8|uint64(i))
			tx := chain.Tx{Hash: th, Index: i, From: pool[r.IntN(len(pool))], Fee: chain.NewAmount(21000)}
			for j := range 1 + r.IntN(3) {
				from, to := pool[r.IntN(len(pool))], pool[r.IntN(len(pool))]
				if r.IntN(10) == 0 {
					to = from
				}
				asset := tokens[r.IntN(len(tokens))]
				kind, pos := chain.KindToken, uint32(r.IntN(50))
				switch {
				case asset == chain.Native && j == 0:
					kind, pos = chain.KindNative, 0
				case asset == chain.Native:
					kind, pos = chain.KindInternal, uint32(j)
				}
				if kind == chain.KindToken && r.IntN(8) == 0 {
					from = "" // a mint
				}
				amt := chain.NewAmount(r.Uint64N(1 << 62))
				if r.IntN(5) == 0 {
					v, _ := new(big.Int).SetString(fmt.Sprintf("%d000000000000000000000", r.IntN(1000)+1), 10)
					amt, _ = chain.AmountFromBig(v)
				}
				if slices.ContainsFunc(tx.Transfers, func(t chain.Transfer) bool { return t.Kind == kind && t.Pos == pos }) {
					continue
				}
				tx.Transfers = append(tx.Transfers, chain.Transfer{Chain: chain.Ethereum, Tx: th, Kind: kind, Pos: pos, Block: uint64(h), Time: ts, From: from, To: to, Asset: asset, Amount: amt})
			}
			b.Txs = append(b.Txs, tx)
		}
		out = append(out, b)
	}
	return out
}

func poolAddrs() []string {
	var out []string
	for i := range 60 {
		if i%7 == 3 {
			out = append(out, fmt.Sprintf("Name-%d", i))
		} else {
			out = append(out, fmt.Sprintf("0x%040x", 0xabc000+i))
		}
	}
	return out
}

// checkSnapshot holds the traversal to the store: every address's
// history, read from a new snapshot, is its postings in the store, field
// for field and in the same order.
func checkSnapshot(t *testing.T, st *Store, tr *Traversal, addrs []string) {
	t.Helper()
	ctx := context.Background()
	s, err := tr.Snapshot(ctx, chain.Ethereum)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	for _, a := range addrs {
		var want []string
		err := st.Postings(ctx, chain.Ethereum, a, PostingQuery{Oldest: true}, func(p Posting) bool {
			want = append(want, fmt.Sprintf("%v %d %d %d %v %d %s %s %q %s", p.Incoming, p.Time.Unix(), p.Block, p.TxIndex, p.Kind, p.Pos, p.Tx, p.Counterparty, p.Asset, p.Amount))
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		id, ok := s.AddressID(a)
		if !ok {
			if len(want) > 0 {
				t.Fatalf("%s: no id, %d postings in the store", a, len(want))
			}
			continue
		}
		if got := s.Address(id); got != a {
			t.Fatalf("id %d names %q, want %q", id, got, a)
		}
		if again, ok := s.AddressID(s.Address(id)); !ok || again != id {
			t.Fatalf("%s: id %d, then %d", a, id, again)
		}
		ps, err := s.History(id, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range ps {
			got = append(got, fmt.Sprintf("%v %d %d %d %v %d %s %s %q %s", p.In, p.Unix, p.Block, p.TxIndex, p.Kind, p.Pos,
				s.AppendTx(nil, p.Tx), s.AppendAddress(nil, p.Peer), s.Asset(p.Asset), p.Amount))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: traversal\n%s\nstore\n%s", a, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		checkSolePayee(t, st, s, a, id)
	}
}

// checkSolePayee compares the snapshot's answer to the deposit
// heuristic's question with the store's newest outgoing transfers.
func checkSolePayee(t *testing.T, st *Store, s *Snapshot, a string, id uint32) {
	t.Helper()
	for _, max := range []int{1, 2, 3, 5, 65, 1 << 20} {
		var (
			to    string
			n     int
			mixed bool
		)
		err := st.Postings(context.Background(), chain.Ethereum, a, PostingQuery{Outgoing: true, Limit: max}, func(p Posting) bool {
			n++
			if n == 1 {
				to = p.Counterparty
			} else if p.Counterparty != to {
				mixed = true
				return false
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		peer, gn, gmixed, err := s.solePayee(id, max)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if gn > 0 {
			got = s.Address(peer)
		}
		if mixed {
			got, to = "", "" // the first peer of a mixed payee is not part of the answer
		}
		if got != to || gn != n || gmixed != mixed {
			t.Fatalf("%s: sole payee of the newest %d: %q %d mixed %v, store %q %d mixed %v", a, max, got, gn, gmixed, to, n, mixed)
		}
	}
}

type logs struct {
	mu sync.Mutex
	l  []string
}

func (l *logs) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.l = append(l.l, fmt.Sprintf(format, args...))
}

func (l *logs) has(sub ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.l {
		ok := true
		for _, x := range sub {
			ok = ok && strings.Contains(s, x)
		}
		if ok {
			return true
		}
	}
	return false
}

func openTest(t *testing.T, dir string) testStore {
	t.Helper()
	st, err := openDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestTraversalDeltaSegmentsCompact(t *testing.T) {
	ctx := context.Background()
	st := openTest(t, t.TempDir())
	defer st.Close()
	tr, err := st.Traversal(ctx, TraversalOptions{MergeInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	addrs := poolAddrs()
	if err := st.WriteBlocks(ctx, chain.Ethereum, "t", randomBlocks(1, 1, 40)); err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, st.Store, tr, addrs) // all in the delta
	if err := tr.Merge(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if err := st.WriteBlocks(ctx, chain.Ethereum, "t", randomBlocks(2, 41+20*i, 20)); err != nil {
			t.Fatal(err)
		}
		checkSnapshot(t, st.Store, tr, addrs) // segments and a delta
		if err := tr.Merge(ctx); err != nil {
			t.Fatal(err)
		}
	}
	tr.mu.Lock()
	n := len(tr.chains[chain.Ethereum].segs)
	tr.mu.Unlock()
	if n > defaultMaxSegments {
		t.Fatalf("%d segments after merges, want at most %d", n, defaultMaxSegments)
	}
	checkSnapshot(t, st.Store, tr, addrs)
	if err := tr.Compact(ctx, chain.Ethereum); err != nil {
		t.Fatal(err)
	}
	tr.mu.Lock()
	n = len(tr.chains[chain.Ethereum].segs)
	tr.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d segments after compaction", n)
	}
	checkSnapshot(t, st.Store, tr, addrs)
}

// TestSolePayeeBusy checks the deposit heuristic's question about a hot
// wallet taking thousands of deposits and paying one address, then
// another, across segments and the delta.
func TestSolePayeeBusy(t *testing.T) {
	ctx := context.Background()
	st := openTest(t, t.TempDir())
	defer st.Close()
	tr, err := st.Traversal(ctx, TraversalOptions{MergeInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	hot, a, b := "0x"+strings.Repeat("1", 40), "0x"+strings.Repeat("2", 40), "0x"+strings.Repeat("3", 40)
	block := func(h int, payee string) *chain.Block {
		ts := time.Unix(1_700_000_000+int64(h)*12, 0).UTC()
		bl := &chain.Block{Chain: chain.Ethereum, Height: uint64(h), Hash: fmt.Sprintf("0x%064x", h), Time: ts}
		for i := range 40 {
			th := fmt.Sprintf("0x%064x", h<<8|i)
			from, to := fmt.Sprintf("0x%040x", 0xdead00+h*40+i), hot
			if i == 39 {
				from, to = hot, payee
			}
			bl.Txs = append(bl.Txs, chain.Tx{Hash: th, Index: i, From: from, Transfers: []chain.Transfer{{Chain: chain.Ethereum, Tx: th,
				Kind: chain.KindNative, Block: uint64(h), Time: ts, From: from, To: to, Amount: chain.NewAmount(uint64(1000 + i))}}})
		}
		return bl
	}
	h := 1
	write := func(n int, payee string) {
		var bs []*chain.Block
		for range n {
			bs = append(bs, block(h, payee))
			h++
		}
		if err := st.WriteBlocks(ctx, chain.Ethereum, "t", bs); err != nil {
			t.Fatal(err)
		}
	}
	write(100, a) // 4,000 postings of the hot wallet: a busy list
	if err := tr.Merge(ctx); err != nil {
		t.Fatal(err)
	}
	addrs := []string{hot, a, b}
	checkSnapshot(t, st.Store, tr, addrs)
	write(100, b)
	write(2, a) // the newest run, broken by the payments to b before it
	if err := tr.Merge(ctx); err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, st.Store, tr, addrs)
	write(3, a) // in the delta
	checkSnapshot(t, st.Store, tr, addrs)
	s, err := tr.Snapshot(ctx, chain.Ethereum)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	id, _ := s.AddressID(hot)
	if s.listBytes(id) < busyList {
		t.Fatalf("the hot wallet's lists hold %d bytes, not a busy address's", s.listBytes(id))
	}
	// The busy address is answered from the store, newest first.
	// Newest first: five payments to a (three in the delta), then b.
	for _, max := range []int{1, 2, 5, 6, 65} {
		to, n, mixed, ok, err := tr.SolePayee(ctx, chain.Ethereum, hot, max)
		wantN, wantMixed, want := min(max, 6), max > 5, a
		if wantMixed {
			want = ""
		}
		if err != nil || !ok || to != want || n != wantN || mixed != wantMixed {
			t.Fatalf("sole payee of the newest %d: %q %d mixed %v ok %v %v; want %q %d mixed %v", max, to, n, mixed, ok, err, want, wantN, wantMixed)
		}
	}
}

func TestTraversalBulkLoadSegments(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := openTest(t, dir)
	blocks := randomBlocks(3, 1, 120)
	l, err := st.NewBulkLoader(ctx, chain.Ethereum, "t", BulkOptions{MaxBlocks: 30})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.WriteBlocks(ctx, blocks); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	l.Close()
	tr, err := st.Traversal(ctx, TraversalOptions{MergeInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	tr.mu.Lock()
	cs := tr.chains[chain.Ethereum]
	segs, deltas := len(cs.segs), len(cs.deltas)
	tr.mu.Unlock()
	if segs != 4 || deltas != 0 {
		t.Fatalf("%d segments, %d deltas after a load in four commits", segs, deltas)
	}
	checkSnapshot(t, st.Store, tr, poolAddrs())
	s, _ := tr.Snapshot(ctx, chain.Ethereum)
	id, _ := s.AddressID(poolAddrs()[5])
	s.Release()
	tr.Close()
	st.Close()
	// A new process finds the same ids in the same segments.
	st = openTest(t, dir)
	defer st.Close()
	tr, err = st.Traversal(ctx, TraversalOptions{MergeInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	s, _ = tr.Snapshot(ctx, chain.Ethereum)
	again, _ := s.AddressID(poolAddrs()[5])
	s.Release()
	if again != id {
		t.Fatalf("id %d after reopening, was %d", again, id)
	}
	// A load onto the segments continues them.
	l, err = st.NewBulkLoader(ctx, chain.Ethereum, "t", BulkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.WriteBlocks(ctx, randomBlocks(4, 121, 30)); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	l.Close()
	checkSnapshot(t, st.Store, tr, poolAddrs())
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, traversalDir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

func TestSegmentDamageRefusedAndRebuilt(t *testing.T) {
	for _, damage := range []string{"flip", "truncate", "header"} {
		t.Run(damage, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			st := openTest(t, dir)
			if err := st.WriteBlocks(ctx, chain.Ethereum, "t", randomBlocks(5, 1, 60)); err != nil {
				t.Fatal(err)
			}
			tr, err := st.Traversal(ctx, TraversalOptions{MergeInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			if err := tr.Merge(ctx); err != nil {
				t.Fatal(err)
			}
			tr.Close()
			st.Close()
			files := segFiles(t, dir)
			if len(files) != 1 {
				t.Fatalf("segments %v", files)
			}
			b, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			switch damage {
			case "flip":
				b[segHeaderSize+len(b[segHeaderSize:])/3] ^= 0x40
			case "truncate":
				b = b[:len(b)-100]
			case "header":
				b[20] ^= 1
			}
			if err := os.WriteFile(files[0], b, 0o600); err != nil {
				t.Fatal(err)
			}
			st = openTest(t, dir)
			defer st.Close()
			var l logs
			tr, err = st.Traversal(ctx, TraversalOptions{MergeInterval: -1, Logf: l.logf})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			if !l.has(filepath.Base(files[0]), "refused", "rebuilt") {
				t.Fatalf("damaged segment not refused by name: %q", l.l)
			}
			checkSnapshot(t, st.Store, tr, poolAddrs())
			if got := segFiles(t, dir); len(got) != 1 || got[0] == files[0] {
				t.Fatalf("segments after the rebuild: %v", got)
			}
		})
	}
}

func TestSegmentCrashBeforeManifest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := openTest(t, dir)
	if err := st.WriteBlocks(ctx, chain.Ethereum, "t", randomBlocks(6, 1, 30)); err != nil {
		t.Fatal(err)
	}
	tr, err := st.Traversal(ctx, TraversalOptions{MergeInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Merge(ctx); err != nil {
		t.Fatal(err)
	}
	before := segFiles(t, dir)
	if err := st.WriteBlocks(ctx, chain.Ethereum, "t", randomBlocks(7, 31, 30)); err != nil {
		t.Fatal(err)
	}
	// A crash during a merge: the new segment written in part, or whole
	// but not yet named by the manifest.
	s, _ := tr.Snapshot(ctx, chain.Ethereum)
	s.Release()
	tr.mu.Lock()
	d := tr.chains[chain.Ethereum].deltas[0]
	tr.mu.Unlock()
	path, _ := tr.newSegPath(chain.Ethereum)
	if _, err := d.b.write(path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, traversalDir, "ethereum-999999.seg"), []byte("THTRSEG1 half written"), 0o600); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	st.Close()

	st = openTest(t, dir)
	defer st.Close()
	tr, err = st.Traversal(ctx, TraversalOptions{MergeInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if got := segFiles(t, dir); !slices.Equal(got, before) {
		t.Fatalf("segments in force after the crash: %v, want the previous %v", got, before)
	}
	checkSnapshot(t, st.Store, tr, poolAddrs())
}

func TestTraversalRollback(t *testing.T) {
	ctx := context.Background()
	st := openTest(t, t.TempDir())
	defer st.Close()
	var l logs
	tr, err := st.Traversal(ctx, TraversalOptions{MergeInterval: -1, Logf: l.logf})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := st.WriteBlocks(ctx, chain.Ethereum, "t", randomBlocks(8, 1, 50)); err != nil {
		t.Fatal(err)
	}
	if err := tr.Merge(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteBlocks(ctx, chain.Ethereum, "t", randomBlocks(9, 51, 20)); err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, st.Store, tr, poolAddrs())
	// A reorganisation within the delta: blocks 61-70 replaced.
	if _, err := st.Rollback(ctx, chain.Ethereum, 60); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteBlocks(ctx, chain.Ethereum, "t", randomBlocks(10, 61, 12)); err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, st.Store, tr, poolAddrs())
	if l.has("deeper than the delta") {
		t.Fatalf("a reorganisation within the delta said to be deeper: %q", l.l)
	}
	// Deeper than the delta: blocks 41 on replaced, the segment holds
	// 1-50.
	if _, err := st.Rollback(ctx, chain.Ethereum, 40); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteBlocks(ctx, chain.Ethereum, "t", randomBlocks(11, 41, 15)); err != nil {
		t.Fatal(err)
	}
	checkSnapshot(t, st.Store, tr, poolAddrs())
	if !l.has("deeper than the delta", "rebuilt") {
		t.Fatalf("a reorganisation into the segments not said: %q", l.l)
	}
	tr.mu.Lock()
	segs := tr.chains[chain.Ethereum].segs
	hi := segs[len(segs)-1].hi
	tr.mu.Unlock()
	if hi != 40 {
		t.Fatalf("segments reach block %d after the reorganisation, want 40", hi)
	}
}

// TestSnapshotOutlivesMerge: a trace's snapshot stays readable while a
// merge replaces the segments it reads.
func TestSnapshotOutlivesMerge(t *testing.T) {
	ctx := context.Background()
	st := openTest(t, t.TempDir())
	defer st.Close()
	tr, err := st.Traversal(ctx, TraversalOptions{MergeInterval: -1, MaxSegments: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	for i := range 3 {
		if err := st.WriteBlocks(ctx, chain.Ethereum, "t", randomBlocks(12, 1+20*i, 20)); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			if err := tr.Merge(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	s, err := tr.Snapshot(ctx, chain.Ethereum)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := s.AddressID(poolAddrs()[0])
	before, _ := s.History(id, nil)
	if err := tr.Compact(ctx, chain.Ethereum); err != nil {
		t.Fatal(err)
	}
	after, err := s.History(id, nil)
	if err != nil || !slices.Equal(before, after) {
		t.Fatalf("history changed under a snapshot: %v", err)
	}
	s.Release()
	checkSnapshot(t, st.Store, tr, poolAddrs())
}

func TestSegPostRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var b []byte
	var want []segPost
	prev := uint64(1000)
	for range 2000 {
		p := segPost{block: prev + r.Uint64N(50) - 10, txPos: uint32(r.IntN(300)), pos: uint32(r.IntN(3)) * uint32(r.IntN(1000)),
			peer: r.Uint32(), asset: uint32(r.IntN(3)), kind: chain.TransferKind(1 + r.IntN(4)), out: r.IntN(2) == 0, amount: chain.NewAmount(r.Uint64())}
		p.txIndex = p.txPos
		if r.IntN(4) == 0 {
			p.txIndex += 3
		}
		if r.IntN(4) == 0 {
			v, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
			p.amount, _ = chain.AmountFromBig(v)
		}
		n := len(b)
		b = appendSegPost(b, &p, prev)
		if len(b)-n != segPostLen(&p, prev) {
			t.Fatalf("length %d, sized %d", len(b)-n, segPostLen(&p, prev))
		}
		prev = p.block
		want = append(want, p)
	}
	rd := postReader{b: b, block: 1000}
	for i := range want {
		var p segPost
		ok, err := rd.next(&p)
		if !ok || err != nil || p != want[i] {
			t.Fatalf("posting %d: %+v %v %v, want %+v", i, p, ok, err, want[i])
		}
	}
	if ok, err := rd.next(new(segPost)); ok || err != nil {
		t.Fatal("postings past the end")
	}
}

// FuzzSegPostDecode: whatever postings any bytes decode to (up to the
// first error) encode to bytes that decode to exactly them again, and
// skimming the bytes finds the same counterparties and directions.
func FuzzSegPostDecode(f *testing.F) {
	p := segPost{block: 7, txPos: 3, txIndex: 9, pos: 2, peer: 12345, asset: 1, kind: chain.KindToken, out: true, amount: chain.NewAmount(1 << 40)}
	f.Add(appendSegPost(nil, &p, 100))
	f.Add([]byte{0, 1, 0, 0, 0, 0})
	f.Add([]byte{pfBig, 3, 2, 1, 1, 3, 1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		decode := func(b []byte) ([]segPost, error) {
			r := postReader{b: b, block: 100}
			var ps []segPost
			for {
				var p segPost
				ok, err := r.next(&p)
				if err != nil || !ok {
					return ps, err
				}
				ps = append(ps, p)
			}
		}
		ps, _ := decode(b)
		// skim reads the same counterparties and directions.
		r := postReader{b: b, block: 100}
		for i := range ps {
			peer, out, ok, err := r.skim()
			if !ok || err != nil || peer != ps[i].peer || out != ps[i].out {
				t.Fatalf("%x: skim of posting %d gives %d %v %v %v, decoding %+v", b, i, peer, out, ok, err, ps[i])
			}
		}
		var enc []byte
		prev := uint64(100)
		for i := range ps {
			enc = appendSegPost(enc, &ps[i], prev)
			prev = ps[i].block
		}
		again, err := decode(enc)
		if err != nil || !slices.Equal(ps, again) {
			t.Fatalf("%x decodes to %+v, which encodes to %x, which decodes to %+v (%v)", b, ps, enc, again, err)
		}
	})
}

// TestTraversalConcurrent: snapshots read while blocks are written and
// the background worker merges, under the race detector in CI; every
// snapshot agrees with the store at the end.
func TestTraversalConcurrent(t *testing.T) {
	ctx := context.Background()
	st := openTest(t, t.TempDir())
	defer st.Close()
	tr, err := st.Traversal(ctx, TraversalOptions{MergeInterval: 5 * time.Millisecond, MergeTransfers: 50, MaxSegments: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				s, err := tr.Snapshot(ctx, chain.Ethereum)
				if err != nil {
					t.Error(err)
					return
				}
				for _, a := range poolAddrs()[:10] {
					if id, ok := s.AddressID(a); ok {
						if _, err := s.History(id, nil); err != nil {
							t.Error(err)
						}
						s.Address(id)
					}
					tr.SolePayee(ctx, chain.Ethereum, a, 65)
				}
				s.Release()
			}
		})
	}
	for i := range 10 {
		if err := st.WriteBlocks(ctx, chain.Ethereum, "t", randomBlocks(20, 1+10*i, 10)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(done)
	wg.Wait()
	checkSnapshot(t, st.Store, tr, poolAddrs())
}
