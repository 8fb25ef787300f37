// Package chaintest holds the fixtures tests of several packages share:
// the real data set beside the repository, the records of a Bitcoin block
// file, and small Ethereum blocks of payments.
package chaintest

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/btcsuite/btcd/wire"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/btc"
)

// Blk14131 is the real block file of the data set: mainnet blocks 0 to
// 14131.
const Blk14131 = "blk_0_to_14131.dat"

// SharedData returns the path of elem inside the real data set, which
// lies beside the repository in ../shared/data. Where it is missing the
// test is skipped, but under CI=true, where the data set is part of the
// run, a missing file fails the test: a suite that skips what it cannot
// find would print ok for tests that never ran.
func SharedData(t testing.TB, elem ...string) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			Missing(t, "no go.mod above the package directory")
		}
		dir = parent
	}
	p := filepath.Join(append([]string{dir, "..", "shared", "data"}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		Missing(t, fmt.Sprintf("real data not available: %v", err))
	}
	return p
}

// Missing ends a test that lacks something it needs (a data set, a
// tool): skipped on a developer's machine, failed under CI=true.
func Missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: nothing a test needs may be missing)", why)
	}
	t.Skip(why)
}

// Record is one record of a block file.
type Record struct {
	Off int64
	Raw []byte // the whole record, magic and size included
}

// Records splits a mainnet block file into its records.
func Records(t testing.TB, path string) []Record {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rr := btc.NewRecordReader(bytes.NewReader(data), path, wire.MainNet)
	var recs []Record
	for {
		blk, off, err := rr.Next()
		if err == io.EOF {
			return recs
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, Record{off, data[off : off+btc.RecordHeaderSize+int64(len(blk))]})
	}
}

// WriteRecords writes records, then extra bytes, as a block file.
func WriteRecords(t testing.TB, path string, recs []Record, extra ...[]byte) {
	t.Helper()
	var buf bytes.Buffer
	for _, r := range recs {
		buf.Write(r.Raw)
	}
	for _, e := range extra {
		buf.Write(e)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// EthAddr is the Ethereum address whose hex digits end in n, zero-padded:
// EthAddr("a1") is 0x00…00a1.
func EthAddr(n string) string { return fmt.Sprintf("0x%040s", n) }

// PayBlock is Ethereum block h, twelve seconds after the one before it,
// in which each payment [from, to, wei] is one transaction of native
// value; from and to are passed through EthAddr.
func PayBlock(h int, pays ...[3]string) *chain.Block {
	ts := time.Unix(1_740_000_000+int64(h)*12, 0).UTC()
	b := &chain.Block{Chain: chain.Ethereum, Height: uint64(h), Hash: fmt.Sprintf("0x%064x", h), Parent: fmt.Sprintf("0x%064x", h-1), Time: ts}
	for i, p := range pays {
		tx := fmt.Sprintf("0x%060x%04x", h, i)
		amt, err := chain.ParseAmount(p[2])
		if err != nil {
			panic(err)
		}
		b.Txs = append(b.Txs, chain.Tx{Hash: tx, Index: i, From: EthAddr(p[0]), Transfers: []chain.Transfer{{Chain: chain.Ethereum, Tx: tx,
			Kind: chain.KindNative, Block: uint64(h), Time: ts, From: EthAddr(p[0]), To: EthAddr(p[1]), Amount: amt}}})
	}
	return b
}

// MustHex decodes hexadecimal test data.
func MustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
