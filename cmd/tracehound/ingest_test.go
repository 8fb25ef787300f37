package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/ingest/blkfile"
	"github.com/tracehound/tracehound/store/pebble"
)

// ledger is an independent reckoning of every address's received and
// sent satoshi, walked over the decoded blocks with a UTXO map of its own.
type ledger struct {
	received, sent map[string]uint64
	fees           map[string]uint64 // by transaction
}

func reckon(t *testing.T, path string) ledger {
	t.Helper()
	src, err := blkfile.OpenFiles(path, &chaincfg.MainNetParams)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	type out struct {
		addr  string
		value uint64
	}
	utxo := make(map[chain.OutPoint]out)
	l := ledger{map[string]uint64{}, map[string]uint64{}, map[string]uint64{}}
	for {
		b, err := src.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return l
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, tx := range b.Txs {
			var in, paid uint64
			for _, i := range tx.Inputs {
				ref := chain.OutPoint{Tx: i.PrevTx, Index: i.PrevIndex}
				o, ok := utxo[ref]
				if !ok {
					t.Fatalf("block %d: %s spends unknown %v", b.Height, tx.Hash, ref)
				}
				delete(utxo, ref)
				in += o.value
				if o.addr != "" {
					l.sent[o.addr] += o.value
				}
			}
			for _, o := range tx.Outputs {
				utxo[chain.OutPoint{Tx: tx.Hash, Index: o.Index}] = out{o.Address, o.Value}
				paid += o.Value
				if o.Address != "" {
					l.received[o.Address] += o.Value
				}
			}
			if !tx.Coinbase {
				l.fees[tx.Hash] = in - paid
			}
		}
	}
}

// TestIngestBlockFile ingests the real mainnet block file through the
// command line and checks every address's totals in the store against an
// independent reckoning, and block 170's payment to Hal Finney.
func TestIngestBlockFile(t *testing.T) {
	d := sharedData(t)
	file := filepath.Join(d, "btc", "blk_0_to_14131.dat")
	data := t.TempDir()
	out, err := run(t, "--data", data, "ingest", "btc", "--blocks", file, "--no-progress")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "14132 blocks") || !strings.Contains(out, "tip 14131") {
		t.Errorf("summary: %s", out)
	}
	out, err = run(t, "--data", data, "address", "btc", "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"received 1000000000, sent 0", "<- 12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "block 170", "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"} {
		if !strings.Contains(out, want) {
			t.Errorf("address output lacks %q:\n%s", want, out)
		}
	}

	l := reckon(t, file)
	ctx := context.Background()
	db, err := pebble.Open(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	addrs := make(map[string]bool)
	for a := range l.received {
		addrs[a] = true
	}
	for a := range l.sent {
		addrs[a] = true
	}
	for a := range addrs {
		tot, ok, err := db.Graph().AddressTotals(ctx, chain.Bitcoin, a)
		if err != nil || !ok {
			t.Fatalf("%s: %v %v", a, ok, err)
		}
		var got [2]string
		for _, as := range tot.Assets {
			if as.Asset == chain.Native {
				got = [2]string{as.Received.String(), as.Sent.String()}
			}
		}
		want := [2]string{chain.NewAmount(l.received[a]).String(), chain.NewAmount(l.sent[a]).String()}
		if got != want {
			t.Errorf("%s: store says received/sent %v, reckoning %v", a, got, want)
		}
	}
	if len(addrs) < 10000 {
		t.Errorf("only %d addresses", len(addrs))
	}
	fees := 0
	for hash, fee := range l.fees {
		r, ok, err := db.Graph().Tx(ctx, chain.Bitcoin, hash)
		if err != nil || !ok {
			t.Fatalf("tx %s: %v %v", hash, ok, err)
		}
		if r.Fee.String() != chain.NewAmount(fee).String() {
			t.Errorf("tx %s fee %s, reckoning %d", hash, r.Fee, fee)
		}
		if fee > 0 {
			fees++
		}
	}
	t.Logf("%d addresses and %d transactions checked, %d with fees", len(addrs), len(l.fees), fees)

	// A second run finds everything stored and adds nothing.
	db.Close()
	out, err = run(t, "--data", data, "ingest", "btc", "--blocks", file, "--no-progress")
	if err != nil || !strings.Contains(out, ": 0 blocks, 0 transfers") {
		t.Errorf("second run: %s %v", out, err)
	}
}

func TestIngestUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"ingest", "btc"}, "exactly one of --rpc and --blocks"},
		{[]string{"ingest", "btc", "--blocks", "x", "--net", "moon"}, "--net \"moon\""},
		{[]string{"ingest", "eth"}, "--rpc is required"},
		{[]string{"ingest", "eth", "--rpc", "http://127.0.0.1:1", "--to", "5", "--follow"}, "exclude each other"},
		{[]string{"ingest", "btc", "--blocks", "/nonexistent"}, "nonexistent"},
		{[]string{"ingest", "csv", "/nonexistent.csv"}, "nonexistent.csv"},
		{[]string{"address", "doge", "D8vFz4p1L37jdg47HXKtSHA5uYLYxbGgPD"}, "the graph holds eth, btc, tron"},
		{[]string{"address", "eth", "0x098B716B8Aaf21512996dC57EB0615e2383E2f97"}, "checksum"},
	} {
		_, err := run(t, append([]string{"--data", t.TempDir()}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
}

// TestIngestTransfersAndBitcoinETL loads an explorer's transfer list and a
// bitcoin-etl export through the command line, then reads an address
// back; a bad row stops the load with its file and line.
func TestIngestTransfersAndBitcoinETL(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "store")
	from, to := "0x098b716b8aaf21512996dc57eb0615e2383e2f96", "0x28c6c06298d514db089934071355e5743bf21d60"
	list := "tx_hash,block_number,block_timestamp,from_address,to_address,asset,value,memo\n" +
		"0x" + strings.Repeat("ab", 32) + ",21900001,2025-02-21T14:13:35Z," + from + "," + to + ",native,1500000000000000000,x\n" +
		"0x" + strings.Repeat("cd", 32) + ",21900001,1740147215," + from + "," + to + ",USDT,12.5,y\n"
	path := filepath.Join(dir, "transfers.csv")
	must(t, os.WriteFile(path, []byte(list), 0o644))
	if out, err := run(t, "--data", data, "ingest", "transfers", "--chain", "bsc", path, "--no-progress"); err != nil || !strings.Contains(out, "2 transfers") {
		t.Fatalf("ingest transfers: %v\n%s", err, out)
	}
	out, err := run(t, "--data", data, "address", "eth", to, "--json")
	if err != nil || !strings.Contains(out, `"received": "1500000000000000000"`) || !strings.Contains(out, `"received": "12500000"`) ||
		!strings.Contains(out, `"0x`+strings.Repeat("ab", 32)+`"`) {
		t.Errorf("address after the load: %v\n%s", err, out)
	}
	bad := filepath.Join(dir, "bad.csv")
	must(t, os.WriteFile(bad, []byte("tx_hash,block_number,block_timestamp,from_address,to_address,asset,value\n"+
		"0x"+strings.Repeat("ef", 32)+",21900002,2025-02-21T14:14:00Z,"+from+","+to+",0x"+strings.Repeat("11", 20)+",1.5\n"), 0o644))
	if _, err := run(t, "--data", filepath.Join(dir, "other"), "ingest", "transfers", "--chain", "eth", bad, "--no-progress"); err == nil || !strings.Contains(err.Error(), "bad.csv:2") {
		t.Errorf("a decimal amount of a token without decimals: %v", err)
	}
	if _, err := run(t, "--data", data, "ingest", "transfers", "--chain", "btc", path); err == nil {
		t.Error("ingest transfers took a UTXO chain")
	}
	// bitcoin-etl's own test export of blocks 50001 and 50002 spends
	// coins of earlier blocks: without them, a clear error and nothing
	// stored.
	etlFile := filepath.Join("..", "..", "ingest", "etl", "testdata", "bitcoin-etl-50001.json")
	if out, err := run(t, "--data", data, "ingest", "csv", "--btc", etlFile, "--no-progress"); err == nil ||
		!strings.Contains(err.Error(), "block 50001") || !strings.Contains(err.Error(), "not an unspent output in the store") || !strings.Contains(out, "tip 0") {
		t.Errorf("ingest csv --btc without the earlier blocks: %v\n%s", err, out)
	}
}
