package transfers_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/ingest/transfers"
)

// FuzzRead reads arbitrary exports. Whatever it accepts must be exact and
// canonical: every address passes the chain's codec, every transfer
// carries its block's height and time, (kind, position) is unique per
// transaction, and writing the blocks back as a canonical export and
// reading that gives the same transfers.
func FuzzRead(f *testing.F) {
	f.Add([]byte(etlTokens))
	f.Add([]byte(etherscanNative))
	f.Add([]byte("tx_hash,block_number,block_timestamp,from_address,to_address,asset,value\n" +
		hash(1) + ",10,1700000000," + thief + "," + split1 + ",native,5\n" +
		hash(1) + ",10,1700000000," + thief + "," + split2 + ",native,5\n" +
		hash(2) + ",12,1700000024," + split1 + "," + split2 + "," + usdt + ",1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		blocks, err := readBytes(1000, data)
		if err != nil {
			return
		}
		check(t, blocks)
		again, err := readBytes(1<<20, canonical(t, blocks))
		if err != nil {
			t.Fatalf("the canonical export of an accepted one is refused: %v", err)
		}
		if a, b := flat(blocks), flat(again); !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip changed the transfers:\n%v\n%v", a, b)
		}
	})
}

func readBytes(n int, data []byte) ([]*chain.Block, error) {
	s, err := transfers.New(eth(), transfers.Input{Name: "in.csv", R: bytes.NewReader(data)})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var out []*chain.Block
	for len(out) <= n {
		b, err := s.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return nil, errors.New("too many blocks")
}

func check(t *testing.T, blocks []*chain.Block) {
	t.Helper()
	for i, b := range blocks {
		if i > 0 && b.Height != blocks[i-1].Height+1 {
			t.Fatalf("block %d after %d", b.Height, blocks[i-1].Height)
		}
		for k, tx := range b.Txs {
			if tx.Index != k {
				t.Fatalf("tx %d has index %d", k, tx.Index)
			}
			seen := make(map[[2]uint32]bool)
			for _, x := range tx.Transfers {
				id := [2]uint32{uint32(x.Kind), x.Pos}
				if seen[id] {
					t.Fatalf("transfer %v %d twice in %s", x.Kind, x.Pos, tx.Hash)
				}
				seen[id] = true
				if x.Block != b.Height || !x.Time.Equal(b.Time) || x.Tx != tx.Hash {
					t.Fatalf("transfer %+v in block %d", x, b.Height)
				}
				for _, a := range []string{x.From, x.To, string(x.Asset)} {
					if a == "" && a == string(x.Asset) {
						continue
					}
					if len(a) != 42 || a[:2] != "0x" || a != lower(a) {
						t.Fatalf("address %q not canonical", a)
					}
				}
			}
		}
	}
}

func lower(s string) string { return string(bytes.ToLower([]byte(s))) }

// canonical writes blocks as an export in the reader's own column names,
// amounts in base units and explicit positions for tokens.
func canonical(t *testing.T, blocks []*chain.Block) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"tx_hash", "block_number", "block_timestamp", "from_address", "to_address", "asset", "value", "log_index"})
	for _, b := range blocks {
		for _, tx := range b.Txs {
			for _, x := range tx.Transfers {
				asset, li := "native", ""
				if x.Kind == chain.KindToken {
					asset, li = string(x.Asset), strconv.FormatUint(uint64(x.Pos), 10)
				}
				w.Write([]string{x.Tx, strconv.FormatUint(b.Height, 10), b.Time.Format("2006-01-02T15:04:05.999999999Z07:00"), x.From, x.To, asset, x.Amount.String(), li})
			}
		}
	}
	w.Flush()
	return buf.Bytes()
}

// flat lists the transfers in a fixed order.
func flat(blocks []*chain.Block) []string {
	var out []string
	for _, b := range blocks {
		var ts []chain.Transfer
		for _, tx := range b.Txs {
			ts = append(ts, tx.Transfers...)
		}
		slices.SortFunc(ts, func(x, y chain.Transfer) int {
			return cmp.Or(cmp.Compare(x.Tx, y.Tx), cmp.Compare(x.Kind, y.Kind), cmp.Compare(x.Pos, y.Pos))
		})
		for _, x := range ts {
			out = append(out, fmt.Sprintf("%d %s %s %d %s>%s %s %s", x.Block, x.Tx, x.Kind, x.Pos, x.From, x.To, x.Asset, x.Amount))
		}
	}
	return out
}

// FuzzUnits converts amounts in whole units both ways: whatever the
// reader accepts as a decimal amount is an exact number of base units,
// which prints back as the same number.
func FuzzUnits(f *testing.F) {
	f.Add("1,999,000.5", 6)
	f.Add("0.000000000000000001", 18)
	f.Add("10066.6", 18)
	f.Add("12.500", 2)
	f.Fuzz(func(t *testing.T, s string, decimals int) {
		a, err := transfers.WholeUnits(s, decimals)
		if err != nil {
			return
		}
		back, err := transfers.WholeUnits(transfers.FormatUnits(a, decimals), decimals)
		if err != nil || back != a {
			t.Fatalf("%q (%d decimals) = %s base units, which print as %q and read back as %s (%v)", s, decimals, a, transfers.FormatUnits(a, decimals), back, err)
		}
	})
}
