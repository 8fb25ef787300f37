package cluster_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/chaintest"
	"github.com/tracehound/tracehound/cluster"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/ingest/blkfile"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/trace"
)

func TestLooksLikeCoinJoin(t *testing.T) {
	in := func(a string) chain.Input { return chain.Input{Address: a, Value: 1_000_000} }
	out := func(v uint64) chain.Output { return chain.Output{Value: v} }
	mix := &chain.Tx{Inputs: []chain.Input{in("a"), in("b"), in("c"), in("d")}, Outputs: []chain.Output{out(900_000), out(900_000), out(900_000), out(85_000), out(12_000)}}
	pay := &chain.Tx{Inputs: []chain.Input{in("a"), in("b"), in("c")}, Outputs: []chain.Output{out(2_500_000), out(480_000)}}
	one := &chain.Tx{Inputs: []chain.Input{in("a"), in("a"), in("a")}, Outputs: []chain.Output{out(900_000), out(900_000), out(900_000)}}
	if !cluster.LooksLikeCoinJoin(mix) || cluster.LooksLikeCoinJoin(pay) || cluster.LooksLikeCoinJoin(one) {
		t.Error("CoinJoin shape misjudged")
	}
}

// TestMultiInputMainnet finds, in the real early blocks, a transaction
// spending coins of several addresses, and checks that each is in the
// others' cluster and inherits their tag.
func TestMultiInputMainnet(t *testing.T) {
	file := chaintest.SharedData(t, "btc", chaintest.Blk14131)
	ctx := context.Background()
	db, err := pebble.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	src, err := blkfile.OpenFiles(file, &chaincfg.MainNetParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.RunStream(ctx, db.Graph(), src, ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	src.Close()
	// Find a multi-address spend among the stored transactions.
	src, _ = blkfile.OpenFiles(file, &chaincfg.MainNetParams)
	defer src.Close()
	var pair [2]string
	for pair[1] == "" {
		b, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			t.Fatal("no multi-address spend in the file")
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, tx := range b.Txs {
			if len(tx.Inputs) < 2 {
				continue
			}
			r, _, _, ok, err := db.Graph().UTXOTx(ctx, chain.Bitcoin, tx.Hash)
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			for _, in := range r.Inputs[1:] {
				if in.Address != r.Inputs[0].Address && in.Address != "" {
					pair = [2]string{r.Inputs[0].Address, in.Address}
				}
			}
		}
	}
	members, complete, err := cluster.Cluster(ctx, db.Graph(), pair[0], 10_000)
	if err != nil || !complete || !slices.Contains(members, pair[1]) {
		t.Fatalf("cluster of %s (%d members, complete %v, %v) lacks %s", pair[0], len(members), complete, err, pair[1])
	}
	t.Logf("%s and %s spent together; cluster of %d addresses", pair[0], pair[1], len(members))
	lab := &cluster.MultiInput{Graph: db.Graph(), Base: tags{pair[1]: {Entity: "Early Exchange", Category: "exchange"}}}
	l, ok, err := lab.Label(ctx, chain.Bitcoin, pair[0])
	if err != nil || !ok || l.Entity != "Early Exchange" || l.Heuristic != cluster.HeuristicMultiInput {
		t.Errorf("label of %s: %+v %v %v", pair[0], l, ok, err)
	}
	if _, ok, _ := lab.Label(ctx, chain.Bitcoin, "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"); ok {
		t.Error("Hal Finney's address, which never spent here, joined a tagged cluster")
	}
	var _ trace.Labeler = lab
}
