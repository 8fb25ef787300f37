package tron

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/store/graph"
	"github.com/tracehound/tracehound/store/pebble"
)

// flows sums what each address received and sent of each asset, and the
// fees each paid, from the fixtures' own fields (expectedTransfers reads
// raw_data, not raw_data_hex).
type flow struct{ in, out big.Int }

func expectedFlows(t *testing.T) (map[string]map[chain.Asset]*flow, map[string]*big.Int) {
	flows := make(map[string]map[chain.Asset]*flow)
	get := func(a string, asset chain.Asset) *flow {
		if flows[a] == nil {
			flows[a] = make(map[chain.Asset]*flow)
		}
		if flows[a][asset] == nil {
			flows[a][asset] = new(flow)
		}
		return flows[a][asset]
	}
	exp := expectedTransfers(t)
	for _, es := range exp {
		for _, e := range es {
			v, _ := new(big.Int).SetString(e.amount, 10)
			get(e.from, e.asset).out.Add(&get(e.from, e.asset).out, v)
			get(e.to, e.asset).in.Add(&get(e.to, e.asset).in, v)
		}
	}
	var infos []struct {
		ID  string `json:"id"`
		Fee int64  `json:"fee"`
	}
	if err := json.Unmarshal(readFile(t, "gettransactioninfobyblocknum-43811922.json"), &infos); err != nil {
		t.Fatal(err)
	}
	fees := make(map[string]*big.Int)
	for _, in := range infos {
		from := exp[in.ID][0].from
		if fees[from] == nil {
			fees[from] = new(big.Int)
		}
		fees[from].Add(fees[from], big.NewInt(in.Fee))
	}
	return flows, fees
}

// checkStore reads every address's totals and postings back and compares
// them with what the fixtures move, exactly, asset by asset.
func checkStore(t *testing.T, st *graph.Store) {
	t.Helper()
	ctx := context.Background()
	flows, fees := expectedFlows(t)
	if len(flows) < 30 {
		t.Fatalf("only %d addresses in the fixture", len(flows))
	}
	for addr, assets := range flows {
		tot, ok, err := st.AddressTotals(ctx, chain.Tron, addr)
		if err != nil || !ok {
			t.Fatalf("%s: totals %v %v", addr, ok, err)
		}
		got := make(map[chain.Asset]*flow)
		for _, a := range tot.Assets {
			got[a.Asset] = new(flow)
			got[a.Asset].in.SetBytes(a.Received.Bytes())
			got[a.Asset].out.SetBytes(a.Sent.Bytes())
		}
		fromPostings := make(map[chain.Asset]*flow)
		err = st.Postings(ctx, chain.Tron, addr, chain.PostingQuery{}, func(p graph.Posting) bool {
			if len(p.Tx) != 64 || strings.HasPrefix(p.Tx, "0x") {
				t.Errorf("%s: posting of tx %q", addr, p.Tx)
			}
			f := fromPostings[p.Asset]
			if f == nil {
				f = new(flow)
				fromPostings[p.Asset] = f
			}
			v := new(big.Int).SetBytes(p.Amount.Bytes())
			if p.Incoming {
				f.in.Add(&f.in, v)
			} else {
				f.out.Add(&f.out, v)
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		for asset, want := range assets {
			for name, have := range map[string]map[chain.Asset]*flow{"totals": got, "postings": fromPostings} {
				g := have[asset]
				if g == nil || g.in.Cmp(&want.in) != 0 || g.out.Cmp(&want.out) != 0 {
					t.Errorf("%s %s %q: %+v, want in %s out %s", name, addr, asset, g, &want.in, &want.out)
				}
			}
		}
		if len(got) != len(assets) || len(fromPostings) != len(assets) {
			t.Errorf("%s: %d assets in totals, %d in postings, want %d", addr, len(got), len(fromPostings), len(assets))
		}
		wantFee := fees[addr]
		if wantFee == nil {
			wantFee = new(big.Int)
		}
		if new(big.Int).SetBytes(tot.FeesPaid.Bytes()).Cmp(wantFee) != 0 {
			t.Errorf("%s: fees %s, want %s", addr, tot.FeesPaid, wantFee)
		}
	}
}

// TestRunNode ingests the recorded block and the one above it through
// ingest.RunNode, a block a batch, into a Pebble store: the second batch
// must see the stored id of the first as its parent (no fork), and every
// address's balances by asset must come back exact.
func TestRunNode(t *testing.T) {
	ctx := context.Background()
	n := newNode(t)
	_, src := n.serve(t)
	db, err := pebble.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	to := uint64(recHeight + 1)
	stats, err := ingest.RunNode(ctx, db.Graph(), src, ingest.Options{From: recHeight, To: &to, Batch: 1})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Blocks != 2 || stats.Transfers != 19 || stats.Height != recHeight+1 {
		t.Errorf("stats %+v", stats)
	}
	h, ok, err := db.Graph().BlockHash(ctx, chain.Tron, recHeight)
	if err != nil || !ok || h != recID {
		t.Fatalf("stored block hash %q %v %v, want %s", h, ok, err, recID)
	}
	// Only the genesis was asked by number: a fork would have made the
	// run ask the node for its blocks' ids.
	if c := n.calls("getblockbynum"); c != 1 {
		t.Errorf("%d getblockbynum calls: the run saw a fork", c)
	}
	checkStore(t, db.Graph())
	rec, ok, err := db.Graph().Tx(ctx, chain.Tron, "ec7adb725459291eb643c7c7098c91751e69a5613ffb7d24393c8d7a46620f86")
	if err != nil || !ok || rec.Hash != "ec7adb725459291eb643c7c7098c91751e69a5613ffb7d24393c8d7a46620f86" || len(rec.Transfers) != 1 || rec.Transfers[0].Amount.String() != "6000000000" {
		t.Errorf("tx record %+v %v %v", rec, ok, err)
	}
}

// TestNodeDies kills the node's connections once the run reaches the
// second block: the first block stays stored, the run fails naming the
// block it could not read, and a run after the node is back resumes
// without counting anything twice.
func TestNodeDies(t *testing.T) {
	ctx := context.Background()
	n := newNode(t)
	_, src := n.serve(t)
	n.setFail(func(w http.ResponseWriter, r *http.Request, method string, k int64) bool {
		if method == "getnowblock" || method == "gettransactioninfobyblocknum" {
			return false
		}
		var args struct {
			StartNum uint64 `json:"startNum"`
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		json.Unmarshal(body, &args)
		if args.StartNum != recHeight+1 {
			return false
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return true
	})
	db, err := pebble.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	to := uint64(recHeight + 1)
	_, err = ingest.RunNode(ctx, db.Graph(), src, ingest.Options{From: recHeight, To: &to, Batch: 1})
	if err == nil || !strings.Contains(err.Error(), "blocks 43811923-43811923") || !strings.Contains(err.Error(), "gave up after 3 retries") {
		t.Fatalf("error %v", err)
	}
	tip, ok, err := db.Graph().Tip(ctx, chain.Tron)
	if err != nil || !ok || tip.Height != recHeight || tip.Hash != recID {
		t.Fatalf("tip after the node died: %+v %v %v", tip, ok, err)
	}
	n.setFail(nil)
	stats, err := ingest.RunNode(ctx, db.Graph(), src, ingest.Options{From: recHeight, To: &to, Batch: 1})
	if err != nil || stats.Blocks != 1 || stats.Height != recHeight+1 {
		t.Fatalf("resumed: %+v %v", stats, err)
	}
	checkStore(t, db.Graph())
}
