package pebble_test

import (
	"context"
	"testing"

	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/tags"
)

// TestTagsGeneration: every change of the tags gives a new generation,
// kept across a reopen; reading the tags does not change it.
func TestTagsGeneration(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := pebble.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	g0, err := db.TagsGeneration(ctx)
	if err != nil || g0 != "" {
		t.Fatalf("new store: %q %v", g0, err)
	}
	tag := tags.Tag{Address: chain.Address{Chain: chain.Ethereum, Value: "0x0000000000000000000000000000000000000001"}, Entity: "x", Category: tags.Exchange, Confidence: 50}
	seen := map[string]bool{g0: true}
	for i, ts := range [][]tags.Tag{{tag}, {tag}, nil} {
		if err := db.ReplacePack(ctx, "p", ts); err != nil {
			t.Fatal(err)
		}
		g, err := db.TagsGeneration(ctx)
		if err != nil || seen[g] {
			t.Fatalf("change %d: generation %q (seen before: %v) %v", i, g, seen[g], err)
		}
		seen[g] = true
	}
	if _, err := db.AllTags(ctx); err != nil {
		t.Fatal(err)
	}
	last, _ := db.TagsGeneration(ctx)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = pebble.Open(ctx, dir); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if g, err := db.TagsGeneration(ctx); err != nil || g != last {
		t.Fatalf("after reopening: %q, want %q (%v)", g, last, err)
	}
}
