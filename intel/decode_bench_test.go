package intel

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// BenchmarkPublication measures what a published report costs per
// indicator on each side: making and encoding the objects, and a
// partner's decoding and validation of them.
func BenchmarkPublication(b *testing.B) {
	const n = 1000
	listed := make([]Listed, n)
	for i := range listed {
		listed[i] = Listed{Chain: "eth", Address: fmt.Sprintf("0x%040x", i), Role: RoleLaundering}
	}
	pub := Publication{Creator: NewIdentity("bench", "organization"), Name: "report", TLP: TLPAmber,
		Actor: "Lazarus Group", Incident: "theft", Addresses: listed, Now: time.Unix(1_700_000_000, 0).UTC()}
	objs, err := Publish(pub)
	if err != nil {
		b.Fatal(err)
	}
	raws := make([][]byte, len(objs))
	for i, o := range objs {
		if raws[i], err = json.Marshal(o); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("make", func(b *testing.B) {
		for b.Loop() {
			if _, err := Publish(pub); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/indicator")
	})
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			for _, o := range objs {
				if _, err := json.Marshal(o); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/indicator")
	})
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			for _, r := range raws {
				o, err := DecodeObject(r)
				if err == nil {
					err = Validate(o)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/indicator")
	})
}
