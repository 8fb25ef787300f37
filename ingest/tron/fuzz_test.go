package tron

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"testing"

	"github.com/tracehound/tracehound/chain"
	tronaddr "github.com/tracehound/tracehound/chain/tron"
)

// FuzzMapBlock decodes arbitrary block and transaction-info answers.
// Whatever it accepts must hold together: the block id names the height,
// every transaction's id hashes its raw bytes, every address passes the
// Tron codec unchanged, every asset is TRX, a token contract or a TRC-10
// token, (kind, position) is unique per transaction, a failed transaction
// moves nothing, and amounts are positive where the chain forbids zero.
func FuzzMapBlock(f *testing.F) {
	f.Add(readFile(f, "getblockbynum-43811922.json"), readFile(f, "gettransactioninfobyblocknum-43811922.json"))
	f.Add([]byte(child), []byte(nil))
	f.Fuzz(func(t *testing.T, block, infos []byte) {
		rb, err := decodeBlock(block)
		if err != nil {
			return
		}
		if h, err := idHeight(rb.id); err != nil || h != rb.height {
			t.Fatalf("block id %s for height %d", rb.id, rb.height)
		}
		for _, tx := range rb.Transactions {
			sum := sha256.Sum256(tx.raw)
			if hex.EncodeToString(sum[:]) != tx.id {
				t.Fatalf("transaction %s accepted with raw bytes hashing to %x", tx.id, sum)
			}
		}
		b, err := mapBlock(rb, infos)
		if err != nil {
			return
		}
		if b.Height != rb.height || b.Hash != rb.id || b.Parent != rb.parent || len(b.Txs) != len(rb.Transactions) {
			t.Fatalf("block %+v from %+v", b, rb)
		}
		valid := func(a string) bool {
			p, err := tronaddr.Codec{}.Parse(a)
			return err == nil && p.Value == a
		}
		for i, tx := range b.Txs {
			if tx.Hash != rb.Transactions[i].id || tx.Index != i {
				t.Fatalf("tx %d: %s", i, tx.Hash)
			}
			if tx.From != "" && !valid(tx.From) {
				t.Fatalf("tx %s from %q", tx.Hash, tx.From)
			}
			if tx.Failed && len(tx.Transfers) > 0 {
				t.Fatalf("failed tx %s moves %d transfers", tx.Hash, len(tx.Transfers))
			}
			seen := make(map[[2]uint32]bool)
			for _, tr := range tx.Transfers {
				k := [2]uint32{uint32(tr.Kind), tr.Pos}
				if seen[k] {
					t.Fatalf("tx %s: two transfers at %s %d", tx.Hash, tr.Kind, tr.Pos)
				}
				seen[k] = true
				if !valid(tr.From) || !valid(tr.To) || tr.Tx != tx.Hash || tr.Block != b.Height || !tr.Time.Equal(b.Time) || tr.Chain != chain.Tron {
					t.Fatalf("tx %s: transfer %+v", tx.Hash, tr)
				}
				switch {
				case tr.Kind == chain.KindToken:
					if !valid(string(tr.Asset)) {
						t.Fatalf("tx %s: token %q", tx.Hash, tr.Asset)
					}
				case tr.Amount.IsZero():
					t.Fatalf("tx %s: %s transfer of nothing", tx.Hash, tr.Kind)
				case tr.Asset != chain.Native && tr.Kind == chain.KindInternal && !isTokenID(string(tr.Asset)):
					t.Fatalf("tx %s: internal transfer of %q", tx.Hash, tr.Asset)
				}
			}
		}
	})
}

// FuzzDecodeHead reads arbitrary answers as the latest block's header.
// What it accepts has an id of 64 lower-case hex digits that names the
// height read, and the two, encoded again as java-tron does, read the
// same.
func FuzzDecodeHead(f *testing.F) {
	f.Add([]byte(child))
	f.Add([]byte(genesis))
	f.Add(readFile(f, "getblockbynum-43811922.json"))
	f.Fuzz(func(t *testing.T, body []byte) {
		id, h, err := decodeHead(body)
		if err != nil {
			return
		}
		if !isHash(id) {
			t.Fatalf("id %q", id)
		}
		if got, err := strconv.ParseUint(id[:16], 16, 64); err != nil || got != h {
			t.Fatalf("id %s names %d, height %d", id, got, h)
		}
		again := fmt.Appendf(nil, `{"blockID":%q,"block_header":{"raw_data":{"number":%d}}}`, id, h)
		if id2, h2, err := decodeHead(again); err != nil || id2 != id || h2 != h {
			t.Fatalf("%s reads %s %d %v", again, id2, h2, err)
		}
	})
}
