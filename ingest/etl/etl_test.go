package etl_test

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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

// FuzzExport reads hostile exports: transactions, receipts, traces and
// token transfers. Each is refused with an error naming a file (and, once
// the headers are read, a line in it), or read whole and exactly: blocks
// at consecutive heights from the first transaction's, each transaction
// row once, and every transfer the rows call for, with the amount the CSV
// wrote, read as an exact number (checkExport).
func FuzzExport(f *testing.F) {
	f.Add(fixture["transactions.csv"], fixture["receipts.csv"], fixture["traces.csv"], fixture["token_transfers.csv"])
	f.Add("hash,block_number,transaction_index,from_address,to_address,value\n", "", "", "")
	f.Add(`hash,nonce,transaction_index,from_address,to_address,value,gas,gas_price,input,receipt_cumulative_gas_used,receipt_gas_used,receipt_contract_address,receipt_root,receipt_status,block_timestamp,block_number,block_hash,max_fee_per_gas,max_priority_fee_per_gas,transaction_type,receipt_effective_gas_price
`+h(9)+`,1,0,`+alice+`,`+bob+`,401346000000000000000000.0,21000,3000000000,0x,21000,21000,,,1,2025-02-21 14:13:35 UTC,21895238,`+h(7)+`,,,2,2500000000
`+h(8)+`,1,1,`+bob+`,`+carol+`,100,21000,3000000000,0x,21000,21000,,,0,2025-02-21 14:13:35 UTC,21895238,`+h(7)+`,,,2,2500000000
`+h(10)+`,1,0,`+bob+`,`+alice+`, 0010 ,21000,3000000000,0x,21000,21000,,,1,2025-02-21 14:13:59 UTC,21895240,`+h(11)+`,,,2,2500000000
`, "", "", "")
	f.Fuzz(func(t *testing.T, txs, receipts, traces, tokens string) {
		files := map[string]string{"transactions.csv": txs}
		for name, body := range map[string]string{"receipts.csv": receipts, "traces.csv": traces, "token_transfers.csv": tokens} {
			if body != "" {
				files[name] = body
			}
		}
		paths := writeFixture(t, files)
		s, err := etl.Open(paths...)
		if err != nil {
			if !strings.Contains(err.Error(), filepath.Dir(paths[0])) && !strings.Contains(err.Error(), "no transactions export") {
				t.Fatalf("open: %v, which names no file", err)
			}
			return
		}
		defer s.Close()
		var blocks []*chain.Block
		for {
			b, err := s.Next(context.Background())
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				var le *etl.LineError
				if !errors.As(err, &le) || !slices.Contains(paths, le.File) || le.Line < 2 || le.Line > strings.Count(files[filepath.Base(le.File)], "\n")+1 {
					t.Fatalf("%v: want an error naming a line of a file", err)
				}
				return
			}
			blocks = append(blocks, b)
		}
		checkExport(t, files, blocks)
	})
}

// csvRows reads an export as a reader of it would, by the names of its
// columns (trimmed, in lower case, the last of a name winning): rows whose
// fields are trimmed of spaces.
func csvRows(t *testing.T, body string) []map[string]string {
	t.Helper()
	if body == "" {
		return nil
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("export read whole but refused by encoding/csv: %v", err)
	}
	var rows []map[string]string
	for _, rec := range recs[1:] {
		row := make(map[string]string)
		for i, name := range recs[0] {
			row[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(name, "\ufeff")))] = strings.TrimSpace(rec[i])
		}
		rows = append(rows, row)
	}
	return rows
}

// exact is the amount s, a CSV number, says: an integer, read exactly in
// whatever form math/big reads it ("10", "10.0", "1e1").
func exact(t *testing.T, what, s string) *big.Int {
	t.Helper()
	if s == "" {
		return new(big.Int)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok || !r.IsInt() || r.Sign() < 0 {
		t.Fatalf("%s %q, not a whole number of base units, was read", what, s)
	}
	return r.Num()
}

// checkExport checks the blocks read from an export against its rows.
// Rows belong to a transaction by block number and hash, in any case.
func checkExport(t *testing.T, files map[string]string, blocks []*chain.Block) {
	t.Helper()
	type txKey struct{ block, hash string }
	key := func(row map[string]string, hash string) txKey {
		n, err := strconv.ParseUint(row["block_number"], 10, 64)
		if err != nil {
			t.Fatalf("row of block %q read", row["block_number"])
		}
		return txKey{strconv.FormatUint(n, 10), strings.ToLower(row[hash])}
	}
	txRows := csvRows(t, files["transactions.csv"])
	// The receipt's status and created contract: a receipts row's, else
	// the transaction row's own columns.
	status, created := make(map[txKey]string), make(map[txKey]string)
	for _, row := range txRows {
		k := key(row, "hash")
		status[k], created[k] = row["receipt_status"], row["receipt_contract_address"]
	}
	for _, row := range csvRows(t, files["receipts.csv"]) {
		k := key(row, "transaction_hash")
		status[k], created[k] = row["status"], row["contract_address"]
	}
	traces := make(map[txKey][]map[string]string) // the calls below the top, in order
	for _, row := range csvRows(t, files["traces.csv"]) {
		if tt := row["trace_type"]; tt != "reward" && tt != "genesis" && tt != "daofork" && row["trace_address"] != "" {
			k := key(row, "transaction_hash")
			traces[k] = append(traces[k], row)
		}
	}
	tokens := make(map[txKey][]map[string]string)
	for _, row := range csvRows(t, files["token_transfers.csv"]) {
		k := key(row, "transaction_hash")
		tokens[k] = append(tokens[k], row)
	}

	got := make(map[txKey]*chain.Tx)
	for i, b := range blocks {
		if i > 0 && b.Height != blocks[i-1].Height+1 {
			t.Fatalf("block %d after block %d", b.Height, blocks[i-1].Height)
		}
		for j := range b.Txs {
			tx := &b.Txs[j]
			k := txKey{strconv.FormatUint(b.Height, 10), tx.Hash}
			if got[k] != nil {
				t.Fatalf("transaction %s twice in block %d", tx.Hash, b.Height)
			}
			got[k] = tx
			for _, tr := range tx.Transfers {
				if tr.Block != b.Height || tr.Tx != tx.Hash || tr.Chain != chain.Ethereum {
					t.Fatalf("transfer %+v in transaction %s of block %d", tr, tx.Hash, b.Height)
				}
			}
		}
	}
	if len(txRows) > 0 && (len(blocks) == 0 || strconv.FormatUint(blocks[0].Height, 10) != key(txRows[0], "hash").block) {
		t.Fatalf("%d blocks read, the first row's block %s first", len(blocks), txRows[0]["block_number"])
	}
	if len(got) != len(txRows) {
		t.Fatalf("%d transactions read from %d rows", len(got), len(txRows))
	}
	for _, row := range txRows {
		k := key(row, "hash")
		tx := got[k]
		switch {
		case tx == nil:
			t.Fatalf("transaction %s of block %s not read", k.hash, k.block)
		case exact(t, "transaction_index", row["transaction_index"]).Cmp(big.NewInt(int64(tx.Index))) != 0:
			t.Fatalf("transaction %s at index %d, its row says %q", k.hash, tx.Index, row["transaction_index"])
		case tx.Failed != (status[k] == "0"):
			t.Fatalf("transaction %s failed %v, its receipt's status %q", k.hash, tx.Failed, status[k])
		}
		// What the rows call for, one transfer at a time, in the order
		// they come in the transaction.
		var want []chain.Transfer
		if v := exact(t, "value", row["value"]); !tx.Failed && v.Sign() != 0 {
			to := row["to_address"]
			if to == "" { // a creation pays the contract it created
				to = created[k]
			}
			want = append(want, chain.Transfer{Kind: chain.KindNative, From: strings.ToLower(row["from_address"]), To: strings.ToLower(to), Amount: amountOf(t, v)})
		}
		for p, tr := range traces[k] {
			// Calls that reverted, or sit in a transaction that did, are
			// not read further.
			if tx.Failed || tr["status"] == "0" || tr["error"] != "" {
				continue
			}
			switch tr["trace_type"] {
			case "call":
				if ct := tr["call_type"]; ct != "call" && ct != "" {
					continue // a delegatecall or staticcall moves nothing
				}
			case "create", "create2", "suicide", "selfdestruct":
			default:
				t.Fatalf("trace of type %q read", tr["trace_type"])
			}
			if v := exact(t, "trace value", tr["value"]); v.Sign() != 0 && tr["to_address"] != "" {
				want = append(want, chain.Transfer{Kind: chain.KindInternal, Pos: uint32(p + 1), From: strings.ToLower(tr["from_address"]), To: strings.ToLower(tr["to_address"]), Amount: amountOf(t, v)})
			}
		}
		for _, tr := range tokens[k] {
			li, err := strconv.ParseUint(tr["log_index"], 10, 32)
			if err != nil {
				t.Fatalf("log_index %q read", tr["log_index"])
			}
			want = append(want, chain.Transfer{Kind: chain.KindToken, Pos: uint32(li), From: strings.ToLower(tr["from_address"]), To: strings.ToLower(tr["to_address"]),
				Asset: chain.Asset(strings.ToLower(tr["token_address"])), Amount: amountOf(t, exact(t, "token value", tr["value"]))})
		}
		if len(tx.Transfers) != len(want) {
			t.Fatalf("transaction %s of block %s: %d transfers, its rows call for %d", k.hash, k.block, len(tx.Transfers), len(want))
		}
		for i, w := range want {
			g := tx.Transfers[i]
			if g.Kind != w.Kind || g.Pos != w.Pos || g.From != w.From || g.To != w.To || g.Asset != w.Asset || g.Amount.Cmp(w.Amount) != 0 {
				t.Fatalf("transaction %s of block %s, transfer %d: %s %d %s>%s %s %s, its row says %s %d %s>%s %s %s", k.hash, k.block, i,
					g.Kind, g.Pos, g.From, g.To, g.Asset, g.Amount, w.Kind, w.Pos, w.From, w.To, w.Asset, w.Amount)
			}
		}
	}
}

func amountOf(t *testing.T, v *big.Int) chain.Amount {
	t.Helper()
	a, err := chain.AmountFromBig(v)
	if err != nil {
		t.Fatalf("%s read as an amount: %v", v, err)
	}
	return a
}
