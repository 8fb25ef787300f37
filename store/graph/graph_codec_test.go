package graph

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/chain"
)

var addrCases = []string{
	"",
	"0x" + strings.Repeat("ab", 20),                       // compact
	"0x" + strings.Repeat("AB", 20),                       // upper case: kept as a string
	"0xAbCd" + strings.Repeat("0", 36),                    // checksummed
	"0x" + strings.Repeat("a", 39),                        // one digit short
	"0x" + strings.Repeat("g", 40),                        // not hex
	"0xa11ce",                                             // test names
	"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",          // Bitcoin bech32
	"1BoatSLRHtKNngkdXEeobR76b53LETtpyT",                  // Bitcoin base58
	string([]byte{0xff, 0, 1}),                            // arbitrary bytes
	"0x" + strings.Repeat("0", 40),                        // the zero address
	"0x" + strings.Repeat("f", 38) + "e" + "f",            // high digits
	strings.Repeat("x", maxAddrLen),                       // longest in keys
	"0x" + strings.Repeat("ab", 20) + "00",                // longer than an address
	"0X" + strings.Repeat("ab", 20),                       // upper-case prefix
	"0x" + strings.Repeat("ab", 19) + "a" + string('f'+1), // bad last digit
}

func TestAddrRoundTrip(t *testing.T) {
	for _, s := range addrCases {
		b := appendAddr([]byte("pre"), s)
		d := dec{b: b[3:]}
		got := d.addr()
		if d.err != nil || got != s || len(d.b) != 0 {
			t.Errorf("%q: read back %q, %v, %d bytes left", s, got, d.err, len(d.b))
		}
		if want := isHex20(s); want != (b[3] == addrHex20) {
			t.Errorf("%q: tag %d", s, b[3])
		}
	}
	if n := len(appendAddr(nil, addrCases[1])); n != 21 {
		t.Errorf("an Ethereum address takes %d bytes, want 21", n)
	}
}

// One address's keys must be one range: no encoded address is a prefix of
// another's.
func TestAddrPrefixFree(t *testing.T) {
	for _, a := range addrCases {
		for _, b := range addrCases {
			ea, eb := appendAddr(nil, a), appendAddr(nil, b)
			if a != b && bytes.HasPrefix(eb, ea) {
				t.Errorf("%q encodes to a prefix of %q", a, b)
			}
		}
	}
}

func TestAddrCorrupt(t *testing.T) {
	for _, b := range [][]byte{
		nil,
		{addrHex20, 1, 2, 3},           // short
		{addrString, 5, 'a'},           // short string
		{addrString},                   // no length
		{7, 1, 2},                      // unknown tag
		{addrString, 0xff, 0xff, 0xff}, // length overflows
	} {
		d := dec{b: b}
		d.addr()
		if !errors.Is(d.err, errCorrupt) {
			t.Errorf("% x: %v, want errCorrupt", b, d.err)
		}
	}
}

func TestHashRoundTrip(t *testing.T) {
	for _, c := range []struct {
		c chain.Chain
		s string
	}{
		{chain.Bitcoin, strings.Repeat("0a", 32)},
		{chain.Bitcoin, strings.Repeat("0A", 32)}, // upper case: a string
		{chain.Ethereum, "0x" + strings.Repeat("0a", 32)},
		{chain.Ethereum, strings.Repeat("0a", 32)}, // no 0x: a string
		{chain.Bitcoin, ""},
	} {
		b := appendHash(nil, c.c, c.s)
		d := dec{b: b}
		if got := d.hash(c.c); got != c.s || d.err != nil || len(d.b) != 0 {
			t.Errorf("%s %q: read back %q, %v", c.c, c.s, got, d.err)
		}
	}
	d := dec{b: []byte{hashRaw, 1, 2}}
	if d.hash(chain.Bitcoin); !errors.Is(d.err, errCorrupt) {
		t.Errorf("short hash: %v", d.err)
	}
}

func sampleTx() (*chain.Block, *chain.Tx) {
	blk := &chain.Block{Height: 812_345, Time: time.Unix(1_700_000_000, 0).UTC()}
	tx := &chain.Tx{Hash: "0x" + strings.Repeat("1f", 32), Index: 17, From: "0x" + strings.Repeat("ab", 20), Fee: chain.NewAmount(21000 * 30e9),
		Failed: true,
		Transfers: []chain.Transfer{
			{Kind: chain.KindToken, Pos: 3, From: "0x" + strings.Repeat("ab", 20), To: "0xa11ce", Asset: chain.Asset("0x" + strings.Repeat("cd", 20)), Amount: chain.NewAmount(5)},
			{Kind: chain.KindNative, From: "0xb0b", To: "0x" + strings.Repeat("ef", 20), Amount: chain.NewAmount(1e18)},
		},
		Inputs:  []chain.Input{{PrevTx: strings.Repeat("3c", 32), PrevIndex: 2, Address: "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", Value: 5000}},
		Outputs: []chain.Output{{Index: 0, Address: "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", Value: 4000, Script: "p2pkh"}},
	}
	return blk, tx
}

func TestTxRecordRoundTrip(t *testing.T) {
	blk, tx := sampleTx()
	th, _ := hashBytes(tx.Hash)
	v := encodeTx(nil, chain.Ethereum, blk, tx, nil)
	r, err := decodeTx(chain.Ethereum, th, v)
	if err != nil {
		t.Fatal(err)
	}
	want := *tx
	want.Transfers = nil
	for _, tr := range tx.Transfers {
		tr.Chain, tr.Tx, tr.Block, tr.Time = chain.Ethereum, tx.Hash, blk.Height, blk.Time
		want.Transfers = append(want.Transfers, tr)
	}
	if r.Block != blk.Height || !r.Time.Equal(blk.Time) || !reflect.DeepEqual(r.Tx, want) {
		t.Errorf("read back\n%+v\nwant\n%+v", r.Tx, want)
	}
	// Every truncation is corrupt, never a shorter record.
	for n := range len(v) {
		if _, err := decodeTx(chain.Ethereum, th, v[:n]); !errors.Is(err, errCorrupt) {
			t.Fatalf("record cut to %d of %d bytes: %v", n, len(v), err)
		}
	}
}

// FuzzDecodeRecords checks the transaction record and address encodings
// both ways. The input, taken as a recipe (fuzzTx), is a transaction whose
// record must read back as it was written, the same whether its addresses
// were memoised or not, and be corrupt cut anywhere short. The input, taken
// as a record, is corrupt or reads as a transaction whose record, written
// again, reads the same and is written again byte for byte, and is no
// longer than the input (the input may spell a field loosely: a uvarint or
// an amount with leading zeros, an address as a string). Taken as
// addresses, each one read re-encodes to the bytes it was read from unless
// those spelled it loosely.
func FuzzDecodeRecords(f *testing.F) {
	blk, tx := sampleTx()
	f.Add(encodeTx(nil, chain.Ethereum, blk, tx, nil))
	f.Add(encodeTx(nil, chain.Bitcoin, blk, tx, nil))
	f.Add(appendAddr(appendAddr([]byte(strings.Repeat("h", 32)), "0x"+strings.Repeat("ab", 20)), ""))
	f.Add([]byte{txRecordVersion, 0xff, 0xff})
	// A recipe of every field: both flags, a 32-byte fee, two transfers,
	// an input, an output.
	f.Add([]byte("\x03\x07\x00\x00\x00\x0c\x80\x00\x00\x00\x00\x00\x00\x00\x11\x20" + strings.Repeat("\xfe", 32) +
		"\x00\x02\x01\x05\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x02\x09\x0b\x01\x01\x03\x00\x07\x01" +
		"\x01\x00\xaa\x01\x02\x7f\x03\x01\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15"))
	f.Fuzz(checkRecords)
}

func checkRecords(t *testing.T, b []byte) {
	{
		th := make([]byte, 32)
		for i := range th {
			th[i] = byte(i * 37)
		}

		// b as a recipe.
		c, blk, tx := fuzzTx(b)
		v := encodeTx(nil, c, blk, tx, nil)
		r, err := decodeTx(c, th, v)
		if err != nil {
			t.Fatalf("%s record of %d bytes refused: %v", c, len(v), err)
		}
		want := *tx
		want.Hash = hashString(c, th)
		want.Transfers = nil
		for _, tr := range tx.Transfers {
			tr.Chain, tr.Tx, tr.Block, tr.Time = c, want.Hash, blk.Height, blk.Time
			want.Transfers = append(want.Transfers, tr)
		}
		if r.Chain != c || r.Block != blk.Height || r.Time != blk.Time || !reflect.DeepEqual(r.Tx, want) {
			t.Fatalf("%s record read back as\n%+v\nwant\n%+v", c, r, want)
		}
		var m hexMemo
		for range 2 {
			if mv := encodeTx(nil, c, blk, tx, &m); !bytes.Equal(mv, v) {
				t.Fatalf("record with memoised addresses\n% x\nwant\n% x", mv, v)
			}
		}
		// Cut everywhere would be quadratic: a fuzzer minimising an
		// input runs this thousands of times.
		cuts := []int{len(v) - 1}
		for n := 0; n < len(v); n += 1 + n%7 + len(v)/64 {
			cuts = append(cuts, n)
		}
		for _, n := range cuts {
			if _, err := decodeTx(c, th, v[:n]); !errors.Is(err, errCorrupt) {
				t.Fatalf("%s record cut to %d of %d bytes: %v", c, n, len(v), err)
			}
		}

		// b as a record.
		for _, c := range []chain.Chain{chain.Ethereum, chain.Bitcoin} {
			r, err := decodeTx(c, th, b)
			if err != nil {
				if !errors.Is(err, errCorrupt) {
					t.Errorf("%s: %v, want errCorrupt", c, err)
				}
				continue
			}
			blk := &chain.Block{Height: r.Block, Time: r.Time}
			v := encodeTx(nil, c, blk, &r.Tx, nil)
			r2, err := decodeTx(c, th, v)
			if err != nil {
				t.Fatalf("%s: % x read, written again as % x, which is refused: %v", c, b, v, err)
			}
			if !reflect.DeepEqual(r2, r) {
				t.Fatalf("%s: % x read as\n%+v\nwritten again and read as\n%+v", c, b, r, r2)
			}
			if v2 := encodeTx(nil, c, blk, &r2.Tx, nil); !bytes.Equal(v2, v) {
				t.Fatalf("%s: record % x read and written again as % x", c, v, v2)
			}
			if len(v) > len(b) {
				t.Fatalf("%s: % x read and written again as % x, longer", c, b, v)
			}
		}

		// b as addresses.
		d := dec{b: b}
		for d.err == nil && len(d.b) > 0 {
			at := d.b
			s := d.addr()
			if d.err != nil {
				if !errors.Is(d.err, errCorrupt) {
					t.Fatalf("% x: %v, want errCorrupt", at, d.err)
				}
				break
			}
			read := at[:len(at)-len(d.b)]
			e := appendAddr(nil, s)
			r := dec{b: e}
			if got := r.addr(); got != s || r.err != nil || len(r.b) != 0 {
				t.Fatalf("%q re-read as %q, %v", s, got, r.err)
			}
			// Loose: a string that is an Ethereum-style address, or a
			// length spelled with more bytes than it needs.
			loose := read[0] == addrString && (isHex20(s) || len(read) != 1+len(binary.AppendUvarint(nil, uint64(len(s))))+len(s))
			if !bytes.Equal(e, read) && !loose {
				t.Fatalf("address %q read from % x, written as % x", s, read, e)
			}
		}
	}
}

// fuzzTx turns b into a transaction, reading fields from it in the
// record's order (zeros once it runs out): the chain, a block height and
// time, the flags, a fee of up to 32 bytes, and up to 3 transfers, 3
// inputs and 3 outputs, with addresses and hashes in every form the
// encoding tells apart.
func fuzzTx(b []byte) (chain.Chain, *chain.Block, *chain.Tx) {
	next := func(n int) []byte {
		p := make([]byte, n)
		b = b[copy(p, b):]
		return p
	}
	u8 := func() byte { return next(1)[0] }
	u32 := func() uint32 { return binary.BigEndian.Uint32(next(4)) }
	u64 := func() uint64 { return binary.BigEndian.Uint64(next(8)) }
	amount := func() chain.Amount {
		a, err := chain.AmountFromBytes(next(int(u8() % 33)))
		if err != nil {
			panic(err)
		}
		return a
	}
	hexOf := func(n int) string { return fmt.Sprintf("%x", next(n)) }
	addr := func() string {
		switch u8() % 5 {
		case 0:
			return "0x" + hexOf(20) // stored as its 20 bytes
		case 1:
			return "0x" + strings.ToUpper(hexOf(20)) // a string
		case 2:
			return ""
		case 3:
			return string(next(int(u8() % 64))) // any bytes
		default:
			return "bc1q" + hexOf(int(u8()%32))
		}
	}
	c := chain.Ethereum
	if u8()%2 == 1 {
		c = chain.Bitcoin
	}
	hash := func() string {
		switch u8() % 3 {
		case 0: // as the chain shows hashes: stored raw
			if c == chain.Bitcoin {
				return hexOf(32)
			}
			return "0x" + hexOf(32)
		case 1: // as the other chain does: a string
			if c == chain.Bitcoin {
				return "0x" + hexOf(32)
			}
			return hexOf(32)
		default:
			return string(next(int(u8() % 80)))
		}
	}
	blk := &chain.Block{Height: u64(), Time: time.Unix(int64(u64()), 0).UTC()}
	flags := u8()
	tx := &chain.Tx{Index: int(u32()), Failed: flags&1 != 0, Coinbase: flags&2 != 0, Fee: amount(), From: addr()}
	for range u8() % 4 {
		tx.Transfers = append(tx.Transfers, chain.Transfer{Kind: chain.TransferKind(u8()), Pos: u32(), From: addr(), To: addr(), Asset: chain.Asset(addr()), Amount: amount()})
	}
	for range u8() % 4 {
		tx.Inputs = append(tx.Inputs, chain.Input{PrevTx: hash(), PrevIndex: u32(), Address: addr(), Value: u64()})
	}
	for range u8() % 4 {
		tx.Outputs = append(tx.Outputs, chain.Output{Index: u32(), Address: addr(), Value: u64(), Script: string(next(int(u8() % 40)))})
	}
	return c, blk, tx
}

func TestGraphFormatRefused(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		setup func(*pebble.DB) error
	}{
		{"format 1, no record", func(db *pebble.DB) error {
			if err := db.Delete([]byte(keyGraphFormat), pebble.Sync); err != nil {
				return err
			}
			return db.Set([]byte("g/k/eth\x00"), []byte{1}, pebble.Sync)
		}},
		{"format 2, postings by direction", func(db *pebble.DB) error {
			return db.Set([]byte(keyGraphFormat), []byte{2}, pebble.Sync)
		}},
		{"a later version", func(db *pebble.DB) error {
			return db.Set([]byte(keyGraphFormat), []byte{graphFormat + 1}, pebble.Sync)
		}},
	} {
		dir := t.TempDir()
		d, err := openDir(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.setup(d.db); err != nil {
			t.Fatal(err)
		}
		d.Close()
		if d, err := openDir(ctx, dir); !errors.Is(err, ErrGraphFormat) || !strings.Contains(err.Error(), "re-ingest") {
			if err == nil {
				d.Close()
			}
			t.Errorf("%s: open gave %v, want ErrGraphFormat", c.name, err)
		}
	}
	// A store of format 3 is read, and marked format 4 by its first
	// generation.
	dir3 := t.TempDir()
	d3, err := openDir(ctx, dir3)
	if err != nil {
		t.Fatal(err)
	}
	all6 := viewBlocks(chain.Ethereum, "0x00000000000000000000000000000000000000a1", 6)
	if err := d3.WriteBlocks(ctx, chain.Ethereum, "test", all6[:3]); err != nil {
		t.Fatal(err)
	}
	if err := d3.db.Set([]byte(keyGraphFormat), []byte{3}, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	d3.Close()
	if d3, err = openDir(ctx, dir3); err != nil {
		t.Fatalf("format 3 refused: %v", err)
	}
	l, err := d3.NewBulkLoader(ctx, chain.Ethereum, "test", BulkOptions{BatchBytes: -1, NoTraversal: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.WriteBlocks(ctx, all6[3:]); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(l.Flush(ctx), l.Close()); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := d3.get([]byte(keyGraphFormat)); err != nil || !ok || !bytes.Equal(v, []byte{4}) {
		t.Errorf("format record after a generation %v %v %v", v, ok, err)
	}
	d3.Close()
	// Reopened as format 4, it reads the blocks of format 3 and the
	// generation's as a store written in batches alone does.
	if d3, err = openDir(ctx, dir3); err != nil {
		t.Fatalf("upgraded store refused: %v", err)
	}
	if g := generationsOf(t, d3.Store); len(g) != 1 || g[0].first != 4 || g[0].last != 6 {
		t.Errorf("generations of the upgraded store %+v", g)
	}
	ref := openGraph(t)
	if err := ref.WriteBlocks(ctx, chain.Ethereum, "test", all6); err != nil {
		t.Fatal(err)
	}
	postings := func(s *Store) []Posting {
		var ps []Posting
		if err := s.Postings(ctx, chain.Ethereum, "0x00000000000000000000000000000000000000a1", PostingQuery{}, func(p Posting) bool {
			ps = append(ps, p)
			return true
		}); err != nil {
			t.Fatal(err)
		}
		return ps
	}
	if got, want := postings(d3.Store), postings(ref); len(want) == 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("upgraded store reads %d postings %+v, want %d %+v", len(got), got, len(want), want)
	}
	if got, want := genState(t, d3.Store, 6), genState(t, ref, 6); got != want {
		t.Errorf("upgraded store differs from batches:\n%s\nwant\n%s", got, want)
	}
	d3.Close()
	// A store without a graph (sanctions only, say) takes the new format.
	dir := t.TempDir()
	d, err := openDir(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	d, err = openDir(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if v, ok, err := d.get([]byte(keyGraphFormat)); err != nil || !ok || !bytes.Equal(v, []byte{graphFormat}) {
		t.Errorf("format record %v %v %v", v, ok, err)
	}
}

// TestStrArena checks that strings handed out stay as they were while
// the arena fills chunk after chunk.
func TestStrArena(t *testing.T) {
	var a strArena
	type kept struct{ s, want string }
	var all []kept
	for i := range 5000 {
		raw := []byte{byte(i), byte(i >> 8), 0xab, 0xcd}
		all = append(all, kept{a.hex("0x", raw), fmt.Sprintf("0x%02x%02xabcd", byte(i), byte(i>>8))})
		all = append(all, kept{a.str([]byte(fmt.Sprint("addr", i))), fmt.Sprint("addr", i)})
	}
	if a.str(nil) != "" {
		t.Error("empty string")
	}
	for _, k := range all {
		if k.s != k.want {
			t.Fatalf("%q, want %q", k.s, k.want)
		}
	}
}
