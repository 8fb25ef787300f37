package node_test

import (
	"context"
	"testing"
	"time"

	"github.com/tracehound/tracehound/node"
)

// open opens a node over a new store, closed when the test ends.
func open(t testing.TB, now func() time.Time) *node.Node {
	t.Helper()
	n, err := node.Open(context.Background(), node.Config{DataDir: t.TempDir(), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}
