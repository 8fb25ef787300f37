package transfers_test

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/tron"
	"github.com/tracehound/tracehound/ingest"
	"github.com/tracehound/tracehound/ingest/transfers"
	"github.com/tracehound/tracehound/store/graph"
	"github.com/tracehound/tracehound/store/pebble"
)

// Addresses of the Bybit theft of February 2025 (../shared/data/incidents),
// as explorers and exports write them.
const (
	thief    = "0x47666fab8bd0ac7003bce3f5c3585383f09486e2"
	thiefMix = "0x47666Fab8bd0Ac7003bce3f5C3585383F09486E2" // EIP-55
	split1   = "0x36ed3c0213565530c35115d93a80f9c04d94e4cb"
	split2   = "0xaf620e6d32b1c67f3396ef5d2f7d7642dc2e6ce9"
	victim   = "0x1db92e2eebc8e0c075a02bea49a2935bcd2dfcf4"
	usdt     = "0xdac17f958d2ee523a2206206994597c13d831ec7"
	steth    = "0xae7ab96520de3a18e5e111b5eaab095312d7fe84"
	// The theft transaction, block 21895238.
	theft = "0x46deef0f52e3a983b67abf4714448a41dd7ffd6d32d32da69d62081c68ad7882"
)

func hash(n byte) string {
	return "0x" + strings.Repeat("0", 62) + string("0123456789abcdef"[n>>4]) + string("0123456789abcdef"[n&15])
}

func write(t testing.TB, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readAll(t testing.TB, o transfers.Options, paths ...string) ([]*chain.Block, error) {
	t.Helper()
	return readN(t, 1<<20, o, paths...)
}

var errTooMany = errors.New("too many blocks")

// readN reads at most n blocks: an export may span any range of heights,
// which the reader fills with empty blocks.
func readN(t testing.TB, n int, o transfers.Options, paths ...string) ([]*chain.Block, error) {
	t.Helper()
	s, err := transfers.Open(o, paths...)
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
		if len(out) > n {
			return out, errTooMany
		}
	}
}

func eth() transfers.Options { return transfers.Options{Chain: chain.Ethereum} }

func amt(s string) chain.Amount {
	a, err := chain.ParseAmount(s)
	if err != nil {
		panic(err)
	}
	return a
}

// An ethereum-etl/BigQuery token_transfers export with the block time,
// rows of block 21895238 out of order.
const etlTokens = `token_address,from_address,to_address,value,transaction_hash,log_index,block_number,block_timestamp
` + steth + `,` + victim + `,` + thief + `,90375510000000000000000,` + theft + `,12,21895238,2025-02-21 14:13:35 UTC
` + usdt + `,` + thief + `,` + split2 + `,5000000,` + "0x00000000000000000000000000000000000000000000000000000000000000b2" + `,4,21895238,2025-02-21 14:13:35 UTC
` + usdt + `,` + thief + `,` + split1 + `,7000000,` + "0x00000000000000000000000000000000000000000000000000000000000000b2" + `,3,21895238,2025-02-21 14:13:35 UTC
` + usdt + `,` + split1 + `,` + split2 + `,1,` + "0x00000000000000000000000000000000000000000000000000000000000000c3" + `,0,21895240,2025-02-21 14:13:59 UTC
`

func TestETLTokenTransfers(t *testing.T) {
	blocks, err := readAll(t, eth(), write(t, "token_transfers.csv", etlTokens))
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 3 {
		t.Fatalf("%d blocks, want 21895238..21895240", len(blocks))
	}
	b := blocks[0]
	if b.Height != 21895238 || !b.Time.Equal(time.Date(2025, 2, 21, 14, 13, 35, 0, time.UTC)) {
		t.Fatalf("block %d at %s", b.Height, b.Time)
	}
	// Transactions by hash (no index given), transfers by log index.
	if len(b.Txs) != 2 || b.Txs[1].Hash != theft || b.Txs[0].Hash != "0x00000000000000000000000000000000000000000000000000000000000000b2" || b.Txs[1].Index != 1 {
		t.Fatalf("txs %+v", b.Txs)
	}
	tr := b.Txs[0].Transfers
	if len(tr) != 2 || tr[0].Pos != 3 || tr[0].To != split1 || tr[1].Pos != 4 || tr[1].To != split2 || tr[0].Amount != amt("7000000") {
		t.Fatalf("transfers %+v", tr)
	}
	for _, x := range append(tr, b.Txs[1].Transfers...) {
		if x.Kind != chain.KindToken || x.Chain != chain.Ethereum || x.Block != b.Height || x.Tx == "" || !x.Time.Equal(b.Time) {
			t.Fatalf("transfer %+v", x)
		}
	}
	if b.Txs[1].Transfers[0].Asset != chain.Asset(steth) || b.Txs[1].Transfers[0].Amount != amt("90375510000000000000000") {
		t.Fatalf("theft %+v", b.Txs[0].Transfers[0])
	}
	// The gap is an empty block at the previous time.
	if g := blocks[1]; g.Height != 21895239 || len(g.Txs) != 0 || !g.Time.Equal(b.Time) {
		t.Fatalf("gap %+v", g)
	}
}

// Etherscan's export of an address's transactions: ETH in whole units,
// failed transactions marked, a contract creation naming the contract.
var etherscanNative = `"Txhash","Blockno","UnixTimestamp","DateTime (UTC)","From","To","ContractAddress","Value_IN(ETH)","Value_OUT(ETH)","CurrentValue @ $2700/Eth","TxnFee(ETH)","TxnFee(USD)","Historical $Price/Eth","Status","ErrCode","Method"
"` + hash(1) + `","21895300","1740147527","2025-02-21 14:18:47","` + thiefMix + `","` + split1 + `","","0","10000","27000000","0.0001","0.27","2700","","","Transfer"
"` + hash(2) + `","21895301","1740147539","2025-02-21 14:18:59","` + thief + `","` + split2 + `","","0","10066.6","27179820","0.0001","0.27","2700","Error(0)","Out of gas","Transfer"
"` + hash(3) + `","21895301","1740147539","2025-02-21 14:18:59","` + thief + `","","` + victim + `","0","0.000000000000000001","0","0.0001","0.27","2700","","","Create"
`

func TestEtherscanNative(t *testing.T) {
	blocks, err := readAll(t, eth(), write(t, "export.csv", etherscanNative))
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 2 {
		t.Fatalf("%d blocks", len(blocks))
	}
	x := blocks[0].Txs[0].Transfers
	if len(x) != 1 || x[0].From != thief || x[0].Amount != amt("10000000000000000000000") || x[0].Kind != chain.KindNative || x[0].Asset != chain.Native {
		t.Fatalf("%+v", x)
	}
	b := blocks[1]
	if !b.Txs[0].Failed || len(b.Txs[0].Transfers) != 0 {
		t.Fatalf("failed transaction %+v", b.Txs[0])
	}
	if c := b.Txs[1].Transfers; len(c) != 1 || c[0].To != victim || c[0].Amount != amt("1") {
		t.Fatalf("creation %+v", c)
	}
}

// Etherscan's token export: TokenValue in whole units, decimals from the
// token table; an unknown token without decimals is refused.
func TestEtherscanTokens(t *testing.T) {
	head := `"Txhash","Blockno","UnixTimestamp","DateTime (UTC)","From","To","TokenValue","USDValueDayOfTx","ContractAddress","TokenName","TokenSymbol"` + "\n"
	good := head + `"` + hash(1) + `","21895300","1740147527","2025-02-21 14:18:47","` + thief + `","` + split1 + `","1,999,000.5","0","` + usdt + `","Tether USD","USDT"` + "\n"
	blocks, err := readAll(t, eth(), write(t, "tokens.csv", good))
	if err != nil {
		t.Fatal(err)
	}
	if x := blocks[0].Txs[0].Transfers[0]; x.Amount != amt("1999000500000") || x.Asset != chain.Asset(usdt) {
		t.Fatalf("%+v", x)
	}
	unknown := head + `"` + hash(1) + `","21895300","1740147527","2025-02-21 14:18:47","` + thief + `","` + split1 + `","12.5","0","` + split2 + `","Fake","FAKE"` + "\n"
	_, err = readAll(t, eth(), write(t, "tokens.csv", unknown))
	if err == nil || !strings.Contains(err.Error(), "decimals are unknown") || !strings.Contains(err.Error(), "tokens.csv:2") {
		t.Fatalf("unknown token: %v", err)
	}
	d := 2
	o := eth()
	o.Decimals = &d
	if blocks, err = readAll(t, o, write(t, "tokens.csv", unknown)); err != nil || blocks[0].Txs[0].Transfers[0].Amount != amt("1250") {
		t.Fatalf("with decimals: %v", err)
	}
	tooFine := strings.Replace(unknown, "12.5", "12.555", 1)
	if _, err = readAll(t, o, write(t, "tokens.csv", tooFine)); err == nil || !strings.Contains(err.Error(), "fractional digits") {
		t.Fatalf("3 fractional digits of a 2-decimal token: %v", err)
	}
}

// A Dune result of tokens.transfers: block_time with milliseconds,
// amount_raw beside the normalised amount, tx_from and tx_to that are
// not the transfer's sender and recipient, native ETH as 0xeeee...
func TestDuneTokensTransfers(t *testing.T) {
	body := `blockchain,block_time,block_number,tx_hash,evt_index,tx_from,tx_to,from,to,contract_address,symbol,amount_raw,amount,amount_usd
ethereum,2025-02-21 14:13:35.000 UTC,21895238,` + theft + `,,` + split2 + `,` + split2 + `,` + victim + `,` + thief + `,0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee,ETH,401346760000000000000000,401346.76,1e9
ethereum,2025-02-21 14:13:35.000 UTC,21895238,` + theft + `,12,` + split2 + `,` + split2 + `,` + victim + `,` + thief + `,` + steth + `,stETH,90375510000000000000000,90375.51,2.4e8
`
	blocks, err := readAll(t, eth(), write(t, "dune.csv", body))
	if err != nil {
		t.Fatal(err)
	}
	x := blocks[0].Txs[0].Transfers
	if len(x) != 2 {
		t.Fatalf("%+v", x)
	}
	if x[0].Kind != chain.KindNative || x[0].Pos != 0 || x[0].From != victim || x[0].To != thief || x[0].Amount != amt("401346760000000000000000") {
		t.Fatalf("native %+v", x[0])
	}
	if x[1].Kind != chain.KindToken || x[1].Pos != 12 || x[1].Asset != chain.Asset(steth) {
		t.Fatalf("token %+v", x[1])
	}
}

// Rows within a block may come in any order: the blocks are the same.
func TestRowOrderDoesNotMatter(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(etlTokens), "\n")
	want, err := readAll(t, eth(), write(t, "a.csv", etlTokens))
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		body := lines[1:4]
		r.Shuffle(len(body), func(i, j int) { body[i], body[j] = body[j], body[i] })
		shuffled := lines[0] + "\n" + strings.Join(body, "\n") + "\n" + lines[4] + "\n"
		got, err := readAll(t, eth(), write(t, "b.csv", shuffled))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("order changed the blocks:\n%s", shuffled)
		}
	}
}

func TestTron(t *testing.T) {
	// TRC-20 USDT on Tron: the contract and addresses in base58 and in
	// their hex form, transaction ids without 0x, times in milliseconds.
	// Addresses of mainnet block 43811922, as java-tron writes them.
	from, err := tron.Codec{}.Parse("41e9da308e7813619eb0b1d2a217903f766ed73ba6")
	if err != nil {
		t.Fatal(err)
	}
	to, err := tron.Codec{}.Parse("415f495edee28ec5f604ee23f23ab17aa88c5699b2")
	if err != nil {
		t.Fatal(err)
	}
	body := `transaction_id,block,block_timestamp,from,to,token_address,value
0x` + strings.Repeat("ab", 32) + `,43811922,1662014442000,` + from.Value + `,415f495edee28ec5f604ee23f23ab17aa88c5699b2,TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t,2000000000
`
	blocks, err := readAll(t, transfers.Options{Chain: chain.Tron}, write(t, "tron.csv", body))
	if err != nil {
		t.Fatal(err)
	}
	x := blocks[0].Txs[0]
	if x.Hash != strings.Repeat("ab", 32) || !blocks[0].Time.Equal(time.UnixMilli(1662014442000).UTC()) {
		t.Fatalf("%+v at %s", x, blocks[0].Time)
	}
	tr := x.Transfers[0]
	if tr.From != from.Value || tr.To != to.Value || tr.Asset != "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t" || tr.Chain != chain.Tron {
		t.Fatalf("%+v", tr)
	}
	// One character changed: the base58check checksum fails.
	c := byte('2')
	if from.Value[10] == '2' {
		c = '3'
	}
	bad := strings.Replace(body, from.Value, from.Value[:10]+string(c)+from.Value[11:], 1)
	if _, err := readAll(t, transfers.Options{Chain: chain.Tron}, write(t, "tron.csv", bad)); err == nil || !strings.Contains(err.Error(), "checksum") || !strings.Contains(err.Error(), "tron.csv:2") {
		t.Fatalf("bad checksum: %v", err)
	}
}

func TestMergeFiles(t *testing.T) {
	native := `hash,block_number,block_time,from,to,value
` + hash(9) + `,21895240,2025-02-21T14:13:59Z,` + thief + `,` + split1 + `,5
`
	blocks, err := readAll(t, transfers.Options{Chain: chain.Ethereum, Asset: "native"},
		write(t, "native.csv", native))
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 1 || blocks[0].Txs[0].Transfers[0].Kind != chain.KindNative {
		t.Fatalf("%+v", blocks)
	}
	o := eth()
	o.Asset = "native"
	// The token file's block 21895240 and the native file's merge into one block.
	all, err := readAll(t, o, write(t, "tokens.csv", etlTokens), write(t, "native.csv", native))
	if err != nil {
		t.Fatal(err)
	}
	last := all[len(all)-1]
	if last.Height != 21895240 || len(last.Txs) != 2 {
		t.Fatalf("%+v", last)
	}
}

func TestBadInput(t *testing.T) {
	head := "tx_hash,block_number,block_timestamp,from_address,to_address,asset,value\n"
	ok := hash(1) + ",10,1700000000," + thief + "," + split1 + ",native,5\n"
	for _, c := range []struct {
		name, body, want string
		o                transfers.Options
	}{
		{"missing column", "tx_hash,block_number,block_timestamp,from_address,value\n" + ok, "no to_address column", eth()},
		{"no time", "tx_hash,block_number,from_address,to_address,asset,value\n", "no block_timestamp column", eth()},
		{"no asset", "tx_hash,block_number,block_timestamp,from_address,to_address,value\n", "no asset column", eth()},
		{"decimal value", head + strings.Replace(strings.Replace(ok, ",5\n", ",5.5\n", 1), "native", split2, 1), "", eth()},
		{"exponent", head + strings.Replace(ok, ",5\n", ",5e18\n", 1), "not an integer in base units", eth()},
		{"backwards", head + ok + strings.Replace(ok, ",10,", ",9,", 1), "x.csv:3: block 9 after block 10", eth()},
		{"bad hash", head + strings.Replace(ok, hash(1), "0x12", 1), "x.csv:2: tx_hash", eth()},
		{"bad address", head + strings.Replace(ok, split1, "0x1234", 1), "to_address", eth()},
		{"bad checksum", head + strings.Replace(ok, thief, strings.Replace(thiefMix, "F", "f", 1), 1), "checksum", eth()},
		{"short row", head + ok + hash(2) + ",11\n", "x.csv:3", eth()},
		{"unknown symbol", head + strings.Replace(ok, "native", "USDX", 1), "not in the token table", eth()},
		{"bad time", head + strings.Replace(ok, "1700000000", "yesterday", 1), "block_timestamp", eth()},
		{"two times", head + ok + strings.Replace(strings.Replace(ok, hash(1), hash(2), 1), "1700000000", "1700000001", 1), "x.csv:3: block 10 at", eth()},
		{"bad status", "tx_hash,block_number,block_timestamp,from_address,to_address,asset,value,status\n" + strings.TrimSuffix(ok, "\n") + ",maybe\n", "status", eth()},
		{"empty", "", "empty file", eth()},
		{"not evm", head + ok, "chain", transfers.Options{Chain: "btc"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := readAll(t, c.o, write(t, "x.csv", c.body))
			if err == nil {
				t.Fatal("no error")
			}
			want := c.want
			if want == "" {
				want = "decimals"
			}
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q does not say %q", err, want)
			}
		})
	}
}

// TestIngestBulk loads an export through ingest.RunStream and the store's
// bulk loader, as the command does, and reads the postings back.
func TestIngestBulk(t *testing.T) {
	ctx := context.Background()
	db, err := pebble.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	src, err := transfers.Open(eth(), write(t, "t.csv", etlTokens))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	first, _ := src.First()
	st, err := ingest.RunStream(ctx, db.Graph(), src, ingest.Options{From: first, Bulk: func(ctx context.Context, c chain.Chain, source string) (ingest.BulkLoader, error) {
		return db.Graph().NewBulkLoader(ctx, c, source, graph.BulkOptions{})
	}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Transfers != 4 || st.Height != 21895240 {
		t.Fatalf("stats %+v", st)
	}
	var ps []graph.Posting
	if err := db.Graph().Postings(ctx, chain.Ethereum, split2, graph.PostingQuery{Incoming: true, Oldest: true}, func(p graph.Posting) bool {
		ps = append(ps, p)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Counterparty != thief || ps[0].Amount != amt("5000000") || ps[0].Tx != "0x00000000000000000000000000000000000000000000000000000000000000b2" {
		t.Fatalf("postings %+v", ps)
	}
}
