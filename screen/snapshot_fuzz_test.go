package screen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/registry"
	"github.com/tracehound/tracehound/detect/exposure"
	"github.com/tracehound/tracehound/tags"
)

// fuzzIndex is a small index with every layer, a raw (opaque) address
// and an engine.
func fuzzIndex(t testing.TB) (*Index, *exposure.Engine, []Query) {
	p := registry.NewParser()
	x := NewIndex(p, nil)
	x.SetSanctions(manyListed()[:40])
	x.SetTags([]tags.Tag{
		{Address: chain.Address{Chain: chain.Ethereum, Kind: "eoa", Value: lazarus}, Entity: "Lazarus", Category: tags.Hack, Abuse: "hack", Source: "s", Confidence: 80, LastMod: time.Unix(1700000000, 0)},
		{Address: chain.Opaque("ltc", "LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb"), Entity: "LTC scam", Category: tags.Scam, Source: "g", Confidence: 60},
		{Address: chain.Address{Chain: chain.Ethereum, Kind: "eoa", Value: "0x" + fmt.Sprintf("%040x", 7)}, Entity: "Mixer", Category: tags.Mixer, Source: "g", Confidence: 90},
	})
	x.SetIntel([]IntelEntry{{Address: chain.Address{Chain: chain.Ethereum, Kind: "eoa", Value: fmt.Sprintf("0x%040x", 9)},
		Flag: IntelFlag{Partner: "p", Indicator: "indicator--9", Marking: "TLP:GREEN", Category: "intel", Risk: High}}})
	eng := exposure.NewEngine(chain.Ethereum, 4, x.Layers().Sources())
	for h := range 20 {
		from, to := fmt.Sprintf("0x%040x", h%10+1), fmt.Sprintf("0x%040x", (h*3)%10+1)
		eng.Apply(&chain.Block{Height: uint64(h), Hash: fmt.Sprint("b", h), Txs: []chain.Tx{{Hash: fmt.Sprint("t", h), From: from,
			Transfers: []chain.Transfer{{Tx: fmt.Sprint("t", h), From: from, To: to, Amount: chain.NewAmount(uint64(100 + h))}}}}})
	}
	var qs []Query
	for i := range 12 {
		qs = append(qs, Query{Address: fmt.Sprintf("0x%040x", i)})
	}
	qs = append(qs, Query{Address: lazarus}, Query{Address: "LNf2JDiuunBz7GMDKFYHN4rq5meXWxiwfb"}, Query{Address: "nothing"})
	return x, eng, qs
}

func answersOf(x *Index, qs []Query) []string {
	var out []string
	for _, q := range qs {
		b, _ := json.Marshal(x.Screen(q))
		out = append(out, string(b))
	}
	return out
}

func fuzzSnapshot(t testing.TB) []byte {
	x, eng, _ := fuzzIndex(t)
	path := filepath.Join(t.TempDir(), "s.snap")
	l := x.Layers()
	d, _ := l.Digest()
	if _, err := WriteSnapshot(path, Saving{Store: "s", Layers: l, Engines: []*exposure.Engine{eng}, Sources: d, Now: time.Unix(1, 0)}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzSnapshotHeader: any bytes either are refused as a header or decode
// to a header that encodes and decodes to itself; decoding never panics
// nor allocates beyond its input.
func FuzzSnapshotHeader(f *testing.F) {
	b := fuzzSnapshot(f)
	f.Add(b[:blockSize])
	f.Add(b[:64])
	f.Fuzz(func(t *testing.T, in []byte) {
		h, err := decodeHeader(in)
		if err != nil {
			return
		}
		enc, err := encodeHeader(h)
		if err != nil {
			t.Fatalf("a decoded header does not encode: %v", err)
		}
		h2, err := decodeHeader(enc)
		if err != nil {
			t.Fatalf("a re-encoded header does not decode: %v", err)
		}
		if !reflect.DeepEqual(h, h2) {
			t.Fatalf("header changes through a round trip:\n%+v\n%+v", h, h2)
		}
		if enc2, _ := encodeHeader(h2); !bytes.Equal(enc, enc2) {
			t.Fatal("encoding is not stable")
		}
	})
}

// FuzzSnapshotFile: whatever a snapshot file holds, opening and reading
// it either refuses it, or fails the look-ups closed (Unknown, index
// fault), or answers exactly as the index it was written from: a changed
// file never yields a different answer. The same holds of the engine.
func FuzzSnapshotFile(f *testing.F) {
	good := fuzzSnapshot(f)
	f.Add(good)
	f.Add(good[:len(good)-7])
	x, eng, qs := fuzzIndex(f)
	x.SetExposure(engineSource{eng})
	want := answersOf(x, qs)
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := snapshotFromBytes("fuzz.snap", in)
		if err != nil {
			return
		}
		defer s.Close()
		y := NewIndex(registry.NewParser(), nil)
		if err := s.Install(y); err != nil {
			return
		}
		e, ok, err := s.Engine(chain.Ethereum, y.Layers().Sources())
		if err != nil || !ok {
			return
		}
		y.SetExposure(engineSource{e})
		got := answersOf(y, qs)
		for i := range want {
			if got[i] == want[i] {
				continue
			}
			var r Result
			json.Unmarshal([]byte(got[i]), &r)
			if (r.Risk != Unknown || len(r.Reasons) != 1 || r.Reasons[0].Code != "index_fault") && e.Err() == nil {
				t.Fatalf("%s: answered\n%s\nwant\n%s", qs[i].Address, got[i], want[i])
			}
		}
	})
}

type engineSource struct{ e *exposure.Engine }

func (s engineSource) Exposure(a chain.Address, paths bool) []exposure.Entry {
	if a.Chain != chain.Ethereum {
		return nil
	}
	if paths {
		return s.e.Exposure(a.Value)
	}
	return s.e.Rated(a.Value)
}
