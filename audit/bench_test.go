package audit

import (
	"context"
	"testing"
)

// BenchmarkRecord appends entries to a store in memory, bare (the
// anchor) and signing a checkpoint every 64 entries (the default), so
// that the cost of anchoring shows apart from the store's.
func BenchmarkRecord(b *testing.B) {
	k, err := GenerateKey(nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		opts []Option
	}{{"bare", nil}, {"signed", []Option{WithKey(k)}}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			l := New(&memStore{}, c.opts...)
			detail := map[string]string{"objects": "3", "collection": "c1"}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := l.Record(ctx, "partner-1", "taxii.objects.served", "c1", detail); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
