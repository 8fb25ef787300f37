package pebble_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tracehound/tracehound/store/pebble"
)

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := pebble.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := pebble.Open(ctx, dir); !errors.Is(err, pebble.ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
}
