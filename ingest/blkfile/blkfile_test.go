package blkfile

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/wire"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btc"
	"github.com/tracehound/tracehound/chain/chaintest"
)

// readAll drains a source, returning the blocks and the final error (nil
// for io.EOF).
func readAll(t testing.TB, s *FileSource) ([]*chain.Block, error) {
	t.Helper()
	var blocks []*chain.Block
	for {
		b, err := s.Next(context.Background())
		if err == io.EOF {
			return blocks, nil
		}
		if err != nil {
			return blocks, err
		}
		blocks = append(blocks, b)
	}
}

func openFiles(t testing.TB, path string, params *chaincfg.Params) *FileSource {
	t.Helper()
	s, err := OpenFiles(path, params)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestFileSourceMainnet reads the 14,132 first mainnet blocks and checks
// that every coinbase pays exactly the subsidy plus its block's fees, with
// inputs resolved from an in-memory UTXO set.
func TestFileSourceMainnet(t *testing.T) {
	path := chaintest.SharedData(t, "btc", chaintest.Blk14131)
	s := openFiles(t, path, &chaincfg.MainNetParams)
	if s.ID() != "btc:blkfile:mainnet" || s.Chain() != chain.Bitcoin {
		t.Errorf("ID %q chain %q", s.ID(), s.Chain())
	}
	blocks, err := readAll(t, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 14132 {
		t.Fatalf("%d blocks, want 14132", len(blocks))
	}
	if read, total := s.Progress(); read != total || total != 16777216 {
		t.Errorf("progress %d of %d", read, total)
	}
	if st := s.Stats(); st != (FileStats{Blocks: 14132}) {
		t.Errorf("stats %+v", st)
	}
	if blocks[0].Hash != "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f" {
		t.Errorf("genesis %s", blocks[0].Hash)
	}
	if blocks[1].Hash != "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048" {
		t.Errorf("block 1 %s", blocks[1].Hash)
	}

	type utxo struct {
		addr  string
		value uint64
	}
	utxos := make(map[chain.OutPoint]utxo)
	var txs, spends int
	for h, b := range blocks {
		if b.Height != uint64(h) || b.Chain != chain.Bitcoin {
			t.Fatalf("block %d has height %d", h, b.Height)
		}
		if h > 0 && b.Parent != blocks[h-1].Hash {
			t.Fatalf("block %d's parent %s is not block %d", h, b.Parent, h-1)
		}
		var fees uint64
		for i := range b.Txs {
			tx := &b.Txs[i]
			txs++
			if tx.Coinbase != (i == 0) || tx.Index != i {
				t.Fatalf("block %d tx %d: coinbase %v index %d", h, i, tx.Coinbase, tx.Index)
			}
			var in, out uint64
			for j := range tx.Inputs {
				ip := &tx.Inputs[j]
				ref := chain.OutPoint{Tx: ip.PrevTx, Index: ip.PrevIndex}
				u, ok := utxos[ref]
				if !ok {
					t.Fatalf("block %d tx %s spends unknown output %s:%d", h, tx.Hash, ip.PrevTx, ip.PrevIndex)
				}
				delete(utxos, ref)
				ip.Address, ip.Value = u.addr, u.value
				in += u.value
				spends++
			}
			for _, o := range tx.Outputs {
				out += o.Value
				utxos[chain.OutPoint{Tx: tx.Hash, Index: o.Index}] = utxo{o.Address, o.Value}
			}
			if !tx.Coinbase {
				if out > in {
					t.Fatalf("block %d tx %s pays %d from %d", h, tx.Hash, out, in)
				}
				fees += in - out
			}
		}
		var paid uint64
		for _, o := range b.Txs[0].Outputs {
			paid += o.Value
		}
		if paid != 5_000_000_000+fees {
			t.Errorf("block %d coinbase pays %d, want subsidy 5000000000 + fees %d", h, paid, fees)
		}
	}
	t.Logf("%d blocks, %d transactions, %d inputs, %d unspent outputs", len(blocks), txs, spends, len(utxos))

	// Block 170: the first payment between people, Satoshi to Hal Finney,
	// spending block 9's coinbase.
	b170 := blocks[170]
	if b170.Hash != "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee" || len(b170.Txs) != 2 {
		t.Fatalf("block 170: %s with %d txs", b170.Hash, len(b170.Txs))
	}
	tx := b170.Txs[1]
	if tx.Hash != "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16" {
		t.Fatalf("block 170 tx 1 is %s", tx.Hash)
	}
	b9 := blocks[9].Txs[0]
	if b9.Hash != "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9" {
		t.Fatalf("block 9 coinbase %s", b9.Hash)
	}
	wantIn := chain.Input{PrevTx: b9.Hash, PrevIndex: 0, Address: "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", Value: 5_000_000_000}
	if len(tx.Inputs) != 1 || tx.Inputs[0] != wantIn {
		t.Errorf("inputs %+v, want %+v", tx.Inputs, wantIn)
	}
	wantOut := []chain.Output{
		{Index: 0, Address: "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3", Value: 1_000_000_000, Script: btc.ClassP2PK}, // Hal Finney
		{Index: 1, Address: "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", Value: 4_000_000_000, Script: btc.ClassP2PK}, // change
	}
	if len(tx.Outputs) != 2 || tx.Outputs[0] != wantOut[0] || tx.Outputs[1] != wantOut[1] {
		t.Errorf("outputs %+v, want %+v", tx.Outputs, wantOut)
	}
}

// TestFileSourceTruncated cuts the file in the middle of a chaintest.Record.
func TestFileSourceTruncated(t *testing.T) {
	src := chaintest.SharedData(t, "btc", chaintest.Blk14131)
	recs := chaintest.Records(t, src)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cut  int64
	}{
		{"in the block", recs[500].Off + btc.RecordHeaderSize + int64(len(recs[500].Raw))/2},
		{"in the size", recs[500].Off + 6},
		{"in the magic", recs[500].Off + 2},
		{"after the header", recs[500].Off + btc.RecordHeaderSize + 80},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "blk00000.dat")
			if err := os.WriteFile(path, data[:tc.cut], 0o644); err != nil {
				t.Fatal(err)
			}
			blocks, err := readAll(t, openFiles(t, path, &chaincfg.MainNetParams))
			wantFileError(t, err, path, recs[500].Off, "truncated record")
			if len(blocks) != 500 || blocks[499].Height != 499 {
				t.Errorf("%d blocks before the error, want 500", len(blocks))
			}
		})
	}
}

func wantFileError(t *testing.T, err error, path string, off int64, msg string) {
	t.Helper()
	var fe *btc.FileError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v, want a *btc.FileError", err)
	}
	if fe.File != path || fe.Offset != off || !strings.Contains(err.Error(), msg) {
		t.Errorf("error %q, want file %s offset %d and %q", err, path, off, msg)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("%s: offset %d: ", path, off)) {
		t.Errorf("error %q does not name the file and offset", err)
	}
}

// TestFileSourceCorrupt flips bytes inside records.
func TestFileSourceCorrupt(t *testing.T) {
	src := chaintest.SharedData(t, "btc", chaintest.Blk14131)
	recs := chaintest.Records(t, src)[:1000]
	r := recs[700]
	for _, tc := range []struct {
		name string
		pos  int // in the chaintest.Record
		msg  string
	}{
		{"output value", len(r.Raw) - 60, "merkle root"},
		{"lock time", len(r.Raw) - 1, "merkle root"},
		{"merkle root field", btc.RecordHeaderSize + 40, "proof-of-work"},
		{"nonce", btc.RecordHeaderSize + 79, "proof-of-work"},
		{"magic", 1, "bad network magic"},
		{"size", 7, "declares a block of"},
		{"tx count", btc.RecordHeaderSize + 80, "decode block"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := append([]chaintest.Record(nil), recs...)
			raw := bytes.Clone(r.Raw)
			raw[tc.pos] ^= 0x40
			bad[700] = chaintest.Record{Off: r.Off, Raw: raw}
			path := filepath.Join(t.TempDir(), "blk00000.dat")
			chaintest.WriteRecords(t, path, bad)
			blocks, err := readAll(t, openFiles(t, path, &chaincfg.MainNetParams))
			wantFileError(t, err, path, r.Off, tc.msg)
			if len(blocks) != 700 {
				t.Errorf("%d blocks before the error, want 700", len(blocks))
			}
		})
	}
}

// TestFileSourcePadding: zeros after the last chaintest.Record end the data, and
// anything after them is an error.
func TestFileSourcePadding(t *testing.T) {
	src := chaintest.SharedData(t, "btc", chaintest.Blk14131)
	recs := chaintest.Records(t, src)[:300]
	end := recs[299].Off + int64(len(recs[299].Raw))
	dir := t.TempDir()
	for _, n := range []int{0, 1, 3, 4, 5, 5000, 3 << 20} {
		path := filepath.Join(dir, fmt.Sprintf("blk%05d.dat", n))
		chaintest.WriteRecords(t, path, recs, make([]byte, n))
		blocks, err := readAll(t, openFiles(t, path, &chaincfg.MainNetParams))
		if err != nil || len(blocks) != 300 {
			t.Errorf("%d zeros: %d blocks, %v", n, len(blocks), err)
		}
	}
	junk := make([]byte, 2<<20)
	junk[len(junk)-7] = 0xf9
	path := filepath.Join(dir, "junk.dat")
	chaintest.WriteRecords(t, path, recs, junk)
	blocks, err := readAll(t, openFiles(t, path, &chaincfg.MainNetParams))
	wantFileError(t, err, path, end+int64(len(junk))-7, fmt.Sprintf("after the zero padding that starts at offset %d", end))
	if len(blocks) != 300 {
		t.Errorf("%d blocks before the error", len(blocks))
	}
}

// TestFileSourceOutOfOrder writes blocks out of height order over two
// files, as Core does during its initial download, with a duplicate.
func TestFileSourceOutOfOrder(t *testing.T) {
	src := chaintest.SharedData(t, "btc", chaintest.Blk14131)
	all := chaintest.Records(t, src)
	recs := all[:400]
	want := make([]string, len(recs))
	for i, r := range recs {
		var h wire.BlockHeader
		if err := h.Deserialize(bytes.NewReader(r.Raw[btc.RecordHeaderSize:])); err != nil {
			t.Fatal(err)
		}
		want[i] = h.BlockHash().String()
	}
	// Reverse windows of 37 blocks, and store block 100 twice.
	var order []chaintest.Record
	for i := 0; i < len(recs); i += 37 {
		j := min(i+37, len(recs))
		for k := j - 1; k >= i; k-- {
			order = append(order, recs[k])
		}
	}
	order = append(order, recs[100])
	dir := t.TempDir()
	chaintest.WriteRecords(t, filepath.Join(dir, "blk00000.dat"), order[:150])
	chaintest.WriteRecords(t, filepath.Join(dir, "blk00001.dat"), order[150:], make([]byte, 1000))
	// Not a block file.
	chaintest.WriteRecords(t, filepath.Join(dir, "rev00000.dat"), all[500:501])
	s := openFiles(t, dir, &chaincfg.MainNetParams)
	blocks, err := readAll(t, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != len(want) {
		t.Fatalf("%d blocks, want %d", len(blocks), len(want))
	}
	for i, b := range blocks {
		if b.Height != uint64(i) || b.Hash != want[i] {
			t.Fatalf("block %d: height %d hash %s, want %s", i, b.Height, b.Hash, want[i])
		}
	}
	if st := s.Stats(); st != (FileStats{Blocks: 400, Duplicates: 1}) {
		t.Errorf("stats %+v", st)
	}
	if read, total := s.Progress(); read != total {
		t.Errorf("progress %d of %d", read, total)
	}
}

// TestFileSourceUnconnected: blocks whose parent is missing are reported
// after all connected blocks, never given a height.
func TestFileSourceUnconnected(t *testing.T) {
	src := chaintest.SharedData(t, "btc", chaintest.Blk14131)
	recs := chaintest.Records(t, src)[:300]
	gap := append(append([]chaintest.Record(nil), recs[:200]...), recs[201:]...)
	path := filepath.Join(t.TempDir(), "blk00000.dat")
	chaintest.WriteRecords(t, path, gap)
	s := openFiles(t, path, &chaincfg.MainNetParams)
	blocks, err := readAll(t, s)
	wantFileError(t, err, path, recs[201].Off-int64(len(recs[200].Raw)), "99 blocks never connected")
	if len(blocks) != 200 || blocks[199].Height != 199 {
		t.Errorf("%d blocks", len(blocks))
	}
	if st := s.Stats(); st.Unconnected != 99 {
		t.Errorf("stats %+v", st)
	}
	// A file that does not start at the genesis block connects nothing.
	path = filepath.Join(t.TempDir(), "blk00001.dat")
	chaintest.WriteRecords(t, path, recs[1:])
	blocks, err = readAll(t, openFiles(t, path, &chaincfg.MainNetParams))
	wantFileError(t, err, path, 0, "299 blocks never connected")
	if len(blocks) != 0 {
		t.Errorf("%d blocks", len(blocks))
	}
}

// TestFileSourceXOR reads files obfuscated as Core 28 writes them.
func TestFileSourceXOR(t *testing.T) {
	src := chaintest.SharedData(t, "btc", chaintest.Blk14131)
	recs := chaintest.Records(t, src)[:100]
	// Block 11 before block 10: it is read again, through the key.
	recs[10], recs[11] = recs[11], recs[10]
	dir := t.TempDir()
	var buf bytes.Buffer
	for _, r := range recs {
		buf.Write(r.Raw)
	}
	buf.Write(make([]byte, 100))
	key := []byte{0x3a, 0x00, 0xff, 0x12, 0x9c, 0x41, 0x07, 0xe5}
	data := buf.Bytes()
	xorAt(data, key, 0)
	if err := os.WriteFile(filepath.Join(dir, "blk00000.dat"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "xor.dat"), key, 0o644); err != nil {
		t.Fatal(err)
	}
	blocks, err := readAll(t, openFiles(t, dir, &chaincfg.MainNetParams))
	if err != nil || len(blocks) != 100 || blocks[99].Height != 99 {
		t.Fatalf("%d blocks, %v", len(blocks), err)
	}
	// Without the key the first magic is wrong.
	if err := os.Remove(filepath.Join(dir, "xor.dat")); err != nil {
		t.Fatal(err)
	}
	_, err = readAll(t, openFiles(t, dir, &chaincfg.MainNetParams))
	wantFileError(t, err, filepath.Join(dir, "blk00000.dat"), 0, "bad network magic")
}

func TestOpenFilesErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenFiles(dir, &chaincfg.MainNetParams); err == nil || !strings.Contains(err.Error(), "no blk*.dat") {
		t.Errorf("empty dir: %v", err)
	}
	if _, err := OpenFiles(filepath.Join(dir, "missing"), &chaincfg.MainNetParams); err == nil {
		t.Error("missing path: no error")
	}
	if err := os.WriteFile(filepath.Join(dir, "blk00000.dat"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "xor.dat"), []byte{1, 2, 3}, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFiles(dir, &chaincfg.MainNetParams); err == nil || !strings.Contains(err.Error(), "8-byte key") {
		t.Errorf("short key: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := openFiles(t, chaintest.SharedData(t, "btc", chaintest.Blk14131), &chaincfg.MainNetParams)
	if _, err := s.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// simChain builds valid simnet blocks on top of parent.
type simChain struct {
	t     testing.TB
	stamp time.Time
	n     int
}

func (c *simChain) block(parent chainhash.Hash) *wire.MsgBlock {
	c.n++
	cb := wire.NewMsgTx(1)
	cb.AddTxIn(&wire.TxIn{
		PreviousOutPoint: wire.OutPoint{Index: wire.MaxPrevOutIndex},
		SignatureScript:  binary.LittleEndian.AppendUint32([]byte{4}, uint32(c.n)),
		Sequence:         wire.MaxTxInSequenceNum,
	})
	cb.AddTxOut(wire.NewTxOut(5_000_000_000, chaintest.MustHex(c.t, "76a91462e907b15cbf27d5425399ebf6f0fb50ebb88f1888ac")))
	c.stamp = c.stamp.Add(time.Minute)
	b := wire.NewMsgBlock(wire.NewBlockHeader(1, &parent, ptr(cb.TxHash()), chaincfg.SimNetParams.PowLimitBits, 0))
	b.Header.Timestamp = c.stamp
	b.AddTransaction(cb)
	var hdr bytes.Buffer
	for {
		hdr.Reset()
		if err := b.Header.Serialize(&hdr); err != nil {
			c.t.Fatal(err)
		}
		if btc.CheckProofOfWork(chainhash.DoubleHashH(hdr.Bytes()), b.Header.Bits) == nil {
			return b
		}
		b.Header.Nonce++
	}
}

func ptr[T any](v T) *T { return &v }

func simRecord(t testing.TB, b *wire.MsgBlock) chaintest.Record {
	var buf bytes.Buffer
	buf.Write(binary.LittleEndian.AppendUint32(nil, uint32(wire.SimNet)))
	buf.Write(binary.LittleEndian.AppendUint32(nil, uint32(b.SerializeSize())))
	if err := b.Serialize(&buf); err != nil {
		t.Fatal(err)
	}
	return chaintest.Record{Raw: buf.Bytes()}
}

// TestFileSourceForks: stale blocks in the files lose to the longer
// branch, early or late, and never take a height.
func TestFileSourceForks(t *testing.T) {
	c := &simChain{t: t, stamp: chaincfg.SimNetParams.GenesisBlock.Header.Timestamp}
	main := []*wire.MsgBlock{chaincfg.SimNetParams.GenesisBlock}
	for i := 1; i <= 20; i++ {
		main = append(main, c.block(main[i-1].BlockHash()))
	}
	fork4 := c.block(main[3].BlockHash())     // competes with main[4]
	fork5 := c.block(fork4.BlockHash())       // and grows one more
	late := c.block(main[2].BlockHash())      // arrives after height 2 settled
	lateKid := c.block(late.BlockHash())      // its child, before it
	tipRival := c.block(main[19].BlockHash()) // ties main[20] at the end, arrives second

	var recs []chaintest.Record
	add := func(bs ...*wire.MsgBlock) {
		for _, b := range bs {
			recs = append(recs, simRecord(t, b))
		}
	}
	add(main[:4]...)
	add(fork4, fork5)
	add(main[4:12]...)
	add(lateKid, late)
	add(main[12:]...)
	add(tipRival)
	path := filepath.Join(t.TempDir(), "blk00000.dat")
	chaintest.WriteRecords(t, path, recs)

	s := openFiles(t, path, &chaincfg.SimNetParams)
	if s.ID() != "btc:blkfile:simnet" {
		t.Errorf("ID %s", s.ID())
	}
	blocks, err := readAll(t, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 21 {
		t.Fatalf("%d blocks", len(blocks))
	}
	for i, b := range blocks {
		if b.Height != uint64(i) || b.Hash != main[i].BlockHash().String() {
			t.Errorf("block %d: height %d %s, want %s", i, b.Height, b.Hash, main[i].BlockHash())
		}
	}
	if st := s.Stats(); st != (FileStats{Blocks: 21, Stale: 5}) {
		t.Errorf("stats %+v", st)
	}

	// Bad data while two branches compete: the blocks before the fork are
	// delivered, the undecided ones are not.
	recs = nil
	add(main[:6]...)
	add(fork4)
	bad := simRecord(t, main[6])
	bad.Raw[len(bad.Raw)-1] ^= 1
	recs = append(recs, bad)
	chaintest.WriteRecords(t, path, recs)
	blocks, err = readAll(t, openFiles(t, path, &chaincfg.SimNetParams))
	var end int64
	for _, r := range recs[:7] {
		end += int64(len(r.Raw))
	}
	wantFileError(t, err, path, end, "merkle root")
	if len(blocks) != 4 || blocks[3].Hash != main[3].BlockHash().String() {
		t.Errorf("%d blocks before the error, want 4", len(blocks))
	}
}

// TestFileSourceWrongGenesis: a parentless block must be the network's
// genesis block.
func TestFileSourceWrongGenesis(t *testing.T) {
	c := &simChain{t: t, stamp: time.Unix(1_700_000_000, 0)}
	b := c.block(chainhash.Hash{})
	path := filepath.Join(t.TempDir(), "blk00000.dat")
	chaintest.WriteRecords(t, path, []chaintest.Record{simRecord(t, chaincfg.SimNetParams.GenesisBlock), simRecord(t, b)})
	_, err := readAll(t, openFiles(t, path, &chaincfg.SimNetParams))
	wantFileError(t, err, path, 293, "has no parent but is not the simnet genesis block")
}

func BenchmarkFileSource(b *testing.B) {
	path := chaintest.SharedData(b, "btc", chaintest.Blk14131)
	b.ReportAllocs()
	for b.Loop() {
		s, err := OpenFiles(path, &chaincfg.MainNetParams)
		if err != nil {
			b.Fatal(err)
		}
		blocks, err := readAll(b, s)
		s.Close()
		if err != nil || len(blocks) != 14132 {
			b.Fatalf("%d blocks, %v", len(blocks), err)
		}
		_, total := s.Progress()
		b.SetBytes(total)
	}
}
