package ingest

import (
	"strings"
	"testing"
	"time"
)

// TestCommitProgress: a bulk load's commit shows how much it has merged,
// its rate and what is left, and its end.
func TestCommitProgress(t *testing.T) {
	var b strings.Builder
	p := NewProgressLine(&b)
	p.Commit(0, 2e9)
	p.every = 0
	time.Sleep(10 * time.Millisecond)
	p.Commit(1e9, 2e9)
	p.Commit(2e9, 2e9)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || lines[0] != "committing: 0 MB of 2.0 GB merged into the store" ||
		!strings.HasPrefix(lines[1], "committing: 1.0 GB of 2.0 GB merged into the store, ") || !strings.Contains(lines[1], "ETA") ||
		lines[2] != "committing: 2.0 GB of 2.0 GB merged into the store" {
		t.Errorf("progress lines:\n%s", b.String())
	}
}
