package ingest

import (
	"context"
	"fmt"

	"github.com/tracehound/tracehound/chain"
)

// ResolveInputs fills in each Bitcoin input's address and value from the
// outputs of earlier transactions in the same blocks or, failing that,
// from the store's unspent outputs; then sets each transaction's fee and
// derives its transfers (one per output that pays an address, from the
// transaction's principal input). An input whose previous output is
// unknown is an error: amounts would be wrong, so nothing is guessed.
func ResolveInputs(ctx context.Context, st UnspentSource, c chain.Chain, blocks []*chain.Block) error {
	local := make(map[chain.OutPoint]chain.Output)
	var missing []chain.OutPoint
	for _, b := range blocks {
		for i := range b.Txs {
			tx := &b.Txs[i]
			for _, in := range tx.Inputs {
				ref := chain.OutPoint{Tx: in.PrevTx, Index: in.PrevIndex}
				if _, ok := local[ref]; !ok {
					missing = append(missing, ref)
				}
			}
			for _, o := range tx.Outputs {
				local[chain.OutPoint{Tx: tx.Hash, Index: o.Index}] = o
			}
		}
	}
	stored, err := st.Unspent(ctx, c, missing)
	if err != nil {
		return err
	}
	for _, b := range blocks {
		for i := range b.Txs {
			tx := &b.Txs[i]
			var in, out uint64
			for j := range tx.Inputs {
				ip := &tx.Inputs[j]
				ref := chain.OutPoint{Tx: ip.PrevTx, Index: ip.PrevIndex}
				o, ok := local[ref]
				if ok {
					// Spent within the batch: later inputs must not spend it again.
					delete(local, ref)
				} else if o, ok = stored[ref]; ok {
					delete(stored, ref)
				} else {
					return fmt.Errorf("block %d tx %s input %d spends %s:%d, which is not an unspent output in the store (ingest the chain from the block that created it)",
						b.Height, tx.Hash, j, ip.PrevTx, ip.PrevIndex)
				}
				ip.Address, ip.Value = o.Address, o.Value
				in += o.Value
			}
			for _, o := range tx.Outputs {
				out += o.Value
			}
			if !tx.Coinbase {
				if out > in {
					return fmt.Errorf("block %d tx %s pays out %d sat from %d sat of inputs", b.Height, tx.Hash, out, in)
				}
				tx.Fee = chain.NewAmount(in - out)
			}
			tx.Transfers = btcTransfers(b, tx)
		}
	}
	return nil
}

// btcTransfers derives one transfer per output that pays an address, from
// the principal input: the largest, first among equals. Coinbase outputs
// come from no one.
func btcTransfers(b *chain.Block, tx *chain.Tx) []chain.Transfer {
	from := ""
	var max uint64
	for _, in := range tx.Inputs {
		if in.Address != "" && (from == "" || in.Value > max) {
			from, max = in.Address, in.Value
		}
	}
	out := tx.Transfers[:0]
	for _, o := range tx.Outputs {
		if o.Address == "" {
			continue
		}
		out = append(out, chain.Transfer{Chain: b.Chain, Tx: tx.Hash, Kind: chain.KindOutput, Pos: o.Index, Block: b.Height, Time: b.Time,
			From: from, To: o.Address, Amount: chain.NewAmount(o.Value)})
	}
	return out
}
