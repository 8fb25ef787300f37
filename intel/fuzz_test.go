package intel_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracehound/tracehound/intel"
)

// FuzzPattern: the parser never panics, and whatever it accepts has a
// normal form that parses back to the same normal form.
func FuzzPattern(f *testing.F) {
	for _, s := range validPatterns {
		f.Add(s)
	}
	for _, s := range invalidPatterns {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := intel.ParsePattern(s)
		if err != nil {
			return
		}
		norm := p.String()
		q, err := intel.ParsePattern(norm)
		if err != nil {
			t.Fatalf("%q parsed, but its normal form %q does not: %v", s, norm, err)
		}
		if q.String() != norm {
			t.Fatalf("%q: normal form %q is not stable: %q", s, norm, q.String())
		}
		if _, err := intel.WalletAddresses(s); err != nil {
			t.Fatalf("WalletAddresses fails on a valid pattern: %v", err)
		}
	})
}

// FuzzParseBundle: ParseBundle never panics, every object it keeps
// encodes, and the encoding decodes to an object that still validates.
func FuzzParseBundle(f *testing.F) {
	for _, name := range []string{"wallet-bundle.json", "hostile-bundle.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"type":"bundle","id":"bundle--b89c6b61-00be-4c89-97f5-f766e31b0fcb"}`))
	f.Add([]byte(`{"type":"bundle","id":"bundle--b89c6b61-00be-4c89-97f5-f766e31b0fcb","objects":[null,{},[],"x"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		good, rejected, err := intel.ParseBundle(data, 1<<20)
		if err != nil {
			if good != nil || rejected != nil {
				t.Fatal("results with an error")
			}
			return
		}
		for _, o := range good {
			b, err := json.Marshal(o)
			if err != nil {
				t.Fatalf("kept object does not encode: %v", err)
			}
			back, err := intel.DecodeObject(b)
			if err != nil {
				t.Fatalf("encoding of a kept object does not decode: %v\n%s", err, b)
			}
			if err := intel.Validate(back); err != nil {
				t.Fatalf("kept object invalid after a round trip: %v\n%s", err, b)
			}
			intel.ObjectTLP(back, intel.MarkingIndex(good))
		}
	})
}
