package btc_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"

	"github.com/tracehound/tracehound/chain/btc"
)

// FuzzRecords reads arbitrary bytes as a block file: no panic, errors
// locate the bad data inside it, and a block that decodes is consistent.
func FuzzRecords(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		rr := btc.NewRecordReader(bytes.NewReader(data), "fuzz.dat", wire.MainNet)
		for {
			raw, off, err := rr.Next()
			if err == io.EOF {
				if rr.Offset() != int64(len(data)) {
					t.Fatalf("EOF at %d of %d bytes", rr.Offset(), len(data))
				}
				return
			}
			if err != nil {
				var fe *btc.FileError
				if !errors.As(err, &fe) || fe.File != "fuzz.dat" || fe.Offset < 0 || fe.Offset > int64(len(data)) {
					t.Fatalf("error %v does not locate the data", err)
				}
				return
			}
			if off < 0 || off+btc.RecordHeaderSize+int64(len(raw)) > int64(len(data)) {
				t.Fatalf("record at %d of %d bytes outside the data", off, len(raw))
			}
			b, err := btc.DecodeBlock(raw, 7, &chaincfg.MainNetParams)
			if err != nil {
				continue
			}
			var msg wire.MsgBlock
			if err := msg.Deserialize(bytes.NewReader(raw)); err != nil {
				t.Fatalf("DecodeBlock accepted what wire rejects: %v", err)
			}
			if b.Height != 7 || b.Hash != msg.BlockHash().String() || len(b.Txs) != len(msg.Transactions) {
				t.Fatalf("block %s height %d with %d txs", b.Hash, b.Height, len(b.Txs))
			}
			for i, tx := range b.Txs {
				if tx.Hash != msg.Transactions[i].TxHash().String() || len(tx.Outputs) != len(msg.Transactions[i].TxOut) {
					t.Fatalf("tx %d: %s", i, tx.Hash)
				}
			}
		}
	})
}
