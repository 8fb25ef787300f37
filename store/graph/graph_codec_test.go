package graph

import (
	"bytes"
	"context"
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

func FuzzDecodeRecords(f *testing.F) {
	blk, tx := sampleTx()
	f.Add(encodeTx(nil, chain.Ethereum, blk, tx, nil))
	f.Add(appendAddr(appendAddr([]byte(strings.Repeat("h", 32)), "0x"+strings.Repeat("ab", 20)), ""))
	f.Add([]byte{txRecordVersion, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		th := make([]byte, 32)
		decodeTx(chain.Ethereum, th, b)
		decodeTx(chain.Bitcoin, th, b)
		d := dec{b: b}
		for d.err == nil && len(d.b) > 0 {
			s := d.addr()
			if d.err != nil {
				break
			}
			// Whatever decodes re-encodes to a record that reads the same.
			r := dec{b: appendAddr(nil, s)}
			if got := r.addr(); got != s || r.err != nil {
				t.Fatalf("%q re-read as %q, %v", s, got, r.err)
			}
		}
	})
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
