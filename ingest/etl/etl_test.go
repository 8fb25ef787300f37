package etl_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/ingest/etl"
	"github.com/tracehound/tracehound/store/graph"
	"github.com/tracehound/tracehound/store/pebble"
)

// Addresses and hashes of the fixture, in ethereum-etl's lower case.
const (
	alice = "0x00000000000000000000000000000000000a11ce"
	bob   = "0x0000000000000000000000000000000000000b0b"
	carol = "0x00000000000000000000000000000000000ca401"
	dave  = "0x0000000000000000000000000000000000000da4"
	tok   = "0x000000000000000000000000000000000000702e"
	fwd   = "0x0000000000000000000000000000000000000f3d"
	made  = "0x00000000000000000000000000000000000c4ea7"
)

func h(n int) string { return fmt.Sprintf("0x%064x", n) }

// The export as ethereum-etl writes it (export_blocks_and_transactions,
// export_receipts_and_logs, extract_token_transfers, export_traces):
// blocks 100, 101 and 103; 102 has no transactions.
var fixture = map[string]string{
	"transactions.csv": `hash,nonce,block_hash,block_number,transaction_index,from_address,to_address,value,gas,gas_price,input,block_timestamp,max_fee_per_gas,max_priority_fee_per_gas,transaction_type
` + h(1) + `,0,` + h(100) + `,100,0,` + alice + `,` + bob + `,1000000000000000000,21000,20000000000,0x,1700000000,,,0
` + h(2) + `,1,` + h(100) + `,100,1,` + alice + `,` + tok + `,0,60000,20000000000,0xa9059cbb,1700000000,,,0
` + h(3) + `,2,` + h(100) + `,100,2,` + alice + `,` + bob + `,7,60000,20000000000,0x,1700000000,,,0
` + h(4) + `,3,` + h(101) + `,101,0,` + alice + `,` + fwd + `,1001,90000,30000000000,0x12,1700000012,40000000000,1000000000,2
` + h(6) + `,5,` + h(103) + `,103,1,` + alice + `,` + fwd + `,10,90000,30000000000,0x12,1700000036,40000000000,1000000000,2
` + h(5) + `,4,` + h(103) + `,103,0,` + alice + `,,5,900000,30000000000,0x60,1700000036,40000000000,1000000000,2
`,
	"receipts.csv": `transaction_hash,transaction_index,block_hash,block_number,cumulative_gas_used,gas_used,contract_address,root,status,effective_gas_price
` + h(1) + `,0,` + h(100) + `,100,21000,21000,,,1,20000000000
` + h(2) + `,1,` + h(100) + `,100,72000,51000,,,1,20000000000
` + h(3) + `,2,` + h(100) + `,100,94000,22000,,,0,20000000000
` + h(4) + `,0,` + h(101) + `,101,50000,50000,,,1,25000000000
` + h(5) + `,0,` + h(103) + `,103,100000,100000,` + made + `,,1,25000000000
` + h(6) + `,1,` + h(103) + `,103,150000,50000,,,1,25000000000
`,
	"token_transfers.csv": `token_address,from_address,to_address,value,transaction_hash,log_index,block_number
` + tok + `,` + alice + `,` + carol + `,500,` + h(2) + `,3,100
`,
	"traces.csv": `block_number,transaction_hash,transaction_index,from_address,to_address,value,input,output,trace_type,call_type,reward_type,gas,gas_used,subtraces,trace_address,error,status,trace_id
101,` + h(4) + `,0,` + alice + `,` + fwd + `,1001,0x12,0x,call,call,,90000,29000,3,,,1,call_` + h(4) + `
101,` + h(4) + `,0,` + fwd + `,` + carol + `,500,0x,0x,call,call,,2300,0,0,0,,1,call_` + h(4) + `_0
101,` + h(4) + `,0,` + fwd + `,` + dave + `,501,0x,0x,call,call,,2300,0,0,1,,1,call_` + h(4) + `_1
101,` + h(4) + `,0,` + fwd + `,` + made + `,1001,0x,0x,call,delegatecall,,2300,0,0,2,,1,call_` + h(4) + `_2
101,,,,` + dave + `,2000000000000000000,,,reward,,block,,,0,,,1,reward_101
103,` + h(5) + `,0,` + alice + `,` + made + `,5,0x60,0x,create,,,900000,100000,0,,,1,create_` + h(5) + `
103,` + h(6) + `,1,` + alice + `,` + fwd + `,10,0x12,0x,call,call,,90000,29000,1,,,1,call_` + h(6) + `
103,` + h(6) + `,1,` + fwd + `,` + carol + `,10,0x,0x,call,call,,2300,0,1,0,Reverted,0,call_` + h(6) + `_0
103,` + h(6) + `,1,` + carol + `,` + dave + `,10,0x,0x,call,call,,2300,0,0,"0,0",,0,call_` + h(6) + `_0_0
`,
}

func writeFixture(t *testing.T, files map[string]string) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

func readAll(t *testing.T, paths []string) ([]*chain.Block, error) {
	t.Helper()
	s, err := etl.Open(paths...)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var out []*chain.Block
	for {
		b, err := s.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, b)
	}
}

func TestExport(t *testing.T) {
	blocks, err := readAll(t, writeFixture(t, fixture))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range blocks {
		got = append(got, fmt.Sprintf("block %d %d txs %s", b.Height, len(b.Txs), b.Time.Format("15:04:05")))
		for _, tx := range b.Txs {
			got = append(got, fmt.Sprintf(" tx %d fee %s failed %v", tx.Index, tx.Fee, tx.Failed))
			for _, tr := range tx.Transfers {
				got = append(got, fmt.Sprintf("  %s %d %s>%s %s %s", tr.Kind, tr.Pos, tr.From[38:], tr.To[38:], tr.Asset, tr.Amount))
			}
		}
	}
	want := []string{
		"block 100 3 txs 22:13:20",
		" tx 0 fee 420000000000000 failed false",
		"  native 0 11ce>0b0b  1000000000000000000",
		" tx 1 fee 1020000000000000 failed false",
		"  token 3 11ce>a401 " + tok + " 500",
		" tx 2 fee 440000000000000 failed true", // its 7 wei did not move
		"block 101 1 txs 22:13:32",
		" tx 0 fee 1250000000000000 failed false",
		"  native 0 11ce>0f3d  1001",
		"  internal 1 0f3d>a401  500",
		"  internal 2 0f3d>0da4  501", // the delegatecall and the reward are not transfers
		"block 102 0 txs 22:13:32",    // not in the export: an empty block
		"block 103 2 txs 22:13:56",
		" tx 0 fee 2500000000000000 failed false",
		"  native 0 11ce>4ea7  5", // a creation pays the created contract
		" tx 1 fee 1250000000000000 failed false",
		"  native 0 11ce>0f3d  10", // the reverted subcalls moved nothing
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestIngestExport loads the export into the store through ingest, twice:
// the second run finds everything stored and adds nothing.
func TestIngestExport(t *testing.T) {
	ctx := context.Background()
	db, err := pebble.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	paths := writeFixture(t, fixture)
	for run := range 2 {
		s, err := etl.Open(paths...)
		if err != nil {
			t.Fatal(err)
		}
		first, _ := s.First()
		st, err := ingest.RunStream(ctx, db.Graph(), s, ingest.Options{From: first, Batch: 2})
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		if want := []int{4, 0}[run]; st.Blocks != want {
			t.Errorf("run %d stored %d blocks, want %d", run, st.Blocks, want)
		}
	}
	tot, ok, err := db.Graph().AddressTotals(ctx, chain.Ethereum, carol)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if got, want := fmt.Sprint(tot.Assets), fmt.Sprintf("[{ 500 0} {%s 500 0}]", tok); got != want || tot.Incoming != 2 {
		t.Errorf("carol totals %s (%d in), want %s", got, tot.Incoming, want)
	}
	var in []string
	err = db.Graph().Postings(ctx, chain.Ethereum, carol, graph.PostingQuery{Incoming: true, Oldest: true}, func(p graph.Posting) bool {
		in = append(in, fmt.Sprintf("%d %s %s %s", p.Block, p.Counterparty[38:], p.Asset, p.Amount))
		return true
	})
	want := []string{"100 11ce " + tok + " 500", "101 0f3d  500"}
	if err != nil || strings.Join(in, "|") != strings.Join(want, "|") {
		t.Errorf("carol incoming %q %v, want %q", in, err, want)
	}
	a, _, _ := db.Graph().AddressTotals(ctx, chain.Ethereum, alice)
	// 0.42+1.02+0.44+1.25+2.5+1.25 milliether of fees.
	if a.FeesPaid.String() != "6880000000000000" {
		t.Errorf("alice fees %s", a.FeesPaid)
	}
	tip, _, _ := db.Graph().Tip(ctx, chain.Ethereum)
	if tip.Height != 103 || tip.Hash != h(103) {
		t.Errorf("tip %+v", tip)
	}
}

// TestBigQueryExport reads the BigQuery crypto_ethereum.transactions shape:
// receipt columns inline, timestamps as UTC dates.
func TestBigQueryExport(t *testing.T) {
	tx := `hash,nonce,transaction_index,from_address,to_address,value,gas,gas_price,input,receipt_cumulative_gas_used,receipt_gas_used,receipt_contract_address,receipt_root,receipt_status,block_timestamp,block_number,block_hash,max_fee_per_gas,max_priority_fee_per_gas,transaction_type,receipt_effective_gas_price
` + h(9) + `,1,0,` + alice + `,` + bob + `,401346000000000000000000,21000,3000000000,0x,21000,21000,,,1,2025-02-21 14:13:35 UTC,21895238,` + h(7) + `,,,2,2500000000
`
	blocks, err := readAll(t, writeFixture(t, map[string]string{"tx.csv": tx}))
	if err != nil {
		t.Fatal(err)
	}
	b := blocks[0]
	if b.Height != 21895238 || b.Time.Format("2006-01-02 15:04:05") != "2025-02-21 14:13:35" || b.Txs[0].Fee.String() != "52500000000000" ||
		b.Txs[0].Transfers[0].Amount.String() != "401346000000000000000000" {
		t.Errorf("%+v", b.Txs[0])
	}
}

func TestBadExports(t *testing.T) {
	edit := func(name, old, new string) map[string]string {
		m := make(map[string]string)
		for k, v := range fixture {
			m[k] = v
		}
		if !strings.Contains(m[name], old) {
			t.Fatalf("fixture %s lacks %q", name, old)
		}
		m[name] = strings.Replace(m[name], old, new, 1)
		return m
	}
	without := func(name string) map[string]string {
		m := make(map[string]string)
		for k, v := range fixture {
			if k != name {
				m[k] = v
			}
		}
		return m
	}
	for _, c := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"fractional value", edit("transactions.csv", ",1000000000000000000,", ",1.5,"), "transactions.csv:2: value: \"1.5\" is not an integer"},
		{"bad address", edit("token_transfers.csv", carol, "0xnotanaddress"), "token_transfers.csv:2: addresses"},
		{"unsorted", edit("receipts.csv", h(3)+",2,"+h(100)+",100,", h(3)+",2,"+h(100)+",99,"), "receipts.csv:4: block 99 after block 100"},
		{"missing receipt", edit("receipts.csv", h(1)+",0,"+h(100)+",100,", h(1)+",0,"+h(100)+",104,"), "transactions.csv:2: transaction " + h(1) + " has no receipt"},
		{"unknown transaction", edit("token_transfers.csv", h(2), h(99)), "token_transfers.csv:2: token transfer of transaction"},
		{"no receipts", without("receipts.csv"), "no receipt_status and receipt_gas_used columns"},
		{"no transactions", without("transactions.csv"), "no transactions export"},
		{"unterminated quote", edit("traces.csv", `"0,0"`, `"0,0`), "traces.csv:"},
		{"bad status", edit("receipts.csv", ",,0,20000000000", ",,2,20000000000"), "receipt status \"2\""},
		{"rows past the end", edit("token_transfers.csv", ",3,100", ",3,104"), "token_transfers.csv:2: token_transfers row of block 104, after the export's last block"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := readAll(t, writeFixture(t, c.files))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}

// FuzzExport reads hostile transaction exports: errors are fine, panics
// and transfers in failed transactions are not.
func FuzzExport(f *testing.F) {
	f.Add(fixture["transactions.csv"], fixture["receipts.csv"], fixture["traces.csv"])
	f.Add("hash,block_number,transaction_index,from_address,to_address,value\n", "", "")
	f.Fuzz(func(t *testing.T, txs, receipts, traces string) {
		files := map[string]string{"transactions.csv": txs}
		if receipts != "" {
			files["receipts.csv"] = receipts
		}
		if traces != "" {
			files["traces.csv"] = traces
		}
		blocks, _ := readAll(t, writeFixture(t, files))
		for _, b := range blocks {
			for _, tx := range b.Txs {
				if tx.Failed && len(tx.Transfers) > 0 {
					t.Fatal("failed transaction with transfers")
				}
			}
		}
	})
}
