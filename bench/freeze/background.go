package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/tracehound/tracehound/chain"
)

// background is the synthetic history bulk-loaded under the dev chain's
// first blocks: each block keeps geth's hash, parent and time, and holds
// perBlock transfers between addresses drawn from a Zipf distribution
// over a population of a fifth of the transfers, as real traffic is. The
// busiest address, id 0, is the exchange hot wallet.
type background struct {
	r        *rand.Rand
	z        *rand.Zipf
	pop      uint64
	left     int
	perBlock int
	hashes   []common.Hash
	times    []time.Time
	height   uint64
}

func newBackground(transfers, perBlock int, hashes []common.Hash, times []time.Time) *background {
	r := rand.New(rand.NewPCG(1, 0x667265657a65))
	pop := uint64(max(transfers/5, 100))
	return &background{r: r, z: rand.NewZipf(r, 1.1, 8, pop-1), pop: pop, left: transfers, perBlock: perBlock, hashes: hashes, times: times}
}

// addr is the address of id: far above the precompiles, so that geth
// takes a plain payment to it for 21,000 gas.
func (b *background) addr(id uint64) string { return fmt.Sprintf("0xbb%038x", id) }

func (b *background) Chain() chain.Chain { return chain.Ethereum }
func (b *background) ID() string         { return "bench:background" }

func (b *background) pick(sender bool) uint64 {
	if sender || b.r.IntN(4) == 0 {
		return b.z.Uint64()
	}
	return b.r.Uint64N(b.pop)
}

// Next is the next block, up to the last height geth sealed for it.
func (b *background) Next(ctx context.Context) (*chain.Block, error) {
	if int(b.height)+1 >= len(b.hashes) {
		return nil, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.height++
	h := b.height
	blk := &chain.Block{Chain: chain.Ethereum, Height: h, Hash: b.hashes[h].Hex(), Parent: b.hashes[h-1].Hex(), Time: b.times[h]}
	n := min(b.perBlock, b.left)
	if int(h) == len(b.hashes)-1 {
		n = b.left // the last block takes what is left
	}
	b.left -= n
	blk.Txs = make([]chain.Tx, n)
	for i := range blk.Txs {
		tx := fmt.Sprintf("0xbb%054x%08x", h, i)
		from, to := b.addr(b.pick(true)), b.addr(b.pick(false))
		v := chain.NewAmount(1 + b.r.Uint64N(5e18))
		blk.Txs[i] = chain.Tx{Hash: tx, Index: i, From: from, Fee: chain.NewAmount(21000 * 30e9),
			Transfers: []chain.Transfer{{Chain: chain.Ethereum, Tx: tx, Kind: chain.KindNative, Block: h, Time: blk.Time, From: from, To: to, Amount: v}}}
	}
	return blk, nil
}
