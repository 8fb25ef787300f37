package audit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// testLog returns a log over a fresh store, signing with a new key,
// whose clock advances a second per reading.
func testLog(t *testing.T, opts ...Option) (*Log, *memStore, *Key) {
	t.Helper()
	k, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	st := &memStore{}
	clock := time.Date(2025, 2, 21, 14, 0, 0, 0, time.UTC)
	tick := func() time.Time { clock = clock.Add(time.Second); return clock }
	return New(st, append([]Option{WithKey(k), WithClock(tick)}, opts...)...), st, k
}

func record(t *testing.T, l *Log, n int) {
	t.Helper()
	for i := range n {
		if _, err := l.Record(context.Background(), fmt.Sprintf("partner-%d", i%3), "taxii.objects.served", "c1", map[string]string{"objects": "3"}); err != nil {
			t.Fatal(err)
		}
	}
}

func wantBroken(t *testing.T, what string, err error, words ...string) {
	t.Helper()
	if !errors.Is(err, ErrBroken) && !errors.Is(err, ErrBadSignature) {
		t.Errorf("%s: %v, want a broken chain", what, err)
		return
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: %q does not say %q", what, err, w)
		}
	}
}

func TestCheckpoints(t *testing.T) {
	ctx := context.Background()
	l, st, k := testLog(t, Checkpoints(10, time.Hour))
	record(t, l, 35)
	rep, err := Verify(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A checkpoint after the first entry, then after every ten.
	if rep.Checkpoints != 4 || rep.Entries != 39 || rep.PublicKey != k.PublicHex() || rep.LastCheckpoint == nil {
		t.Fatalf("report %+v", rep)
	}
	if rep.Unanchored != rep.Entries-rep.LastCheckpoint.Seq-1 {
		t.Errorf("unanchored %d after a checkpoint of entry %d of %d", rep.Unanchored, rep.LastCheckpoint.Seq, rep.Entries)
	}
	// The interval forces a checkpoint when entries are rare.
	l2, st2, _ := testLog(t, Checkpoints(1000, 4*time.Second))
	record(t, l2, 10) // a second per entry
	if rep, err := Verify(ctx, st2, nil); err != nil || rep.Checkpoints < 3 {
		t.Errorf("interval: %+v %v", rep, err)
	}
	// Without a key, no checkpoints and no heads.
	bare := New(&memStore{})
	record(t, bare, 3)
	if _, err := bare.CurrentHead(ctx); !errors.Is(err, ErrNoKey) {
		t.Errorf("head without a key: %v", err)
	}
}

func TestCurrentHead(t *testing.T) {
	ctx := context.Background()
	l, st, k := testLog(t)
	h0, err := l.CurrentHead(ctx)
	if err != nil || h0.Seq != 0 || h0.Hash != genesis {
		t.Fatalf("head of the empty log: %+v %v", h0, err)
	}
	record(t, l, 5)
	h, err := l.CurrentHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last, _, _ := st.LastAudit(ctx)
	if h.Seq != last.Seq-1 || last.Action != ActionCheckpoint || h.PublicKey != k.PublicHex() || h.Check() != nil {
		t.Fatalf("head %+v, last entry %+v", h, last)
	}
	// Nothing new: the same head, no new checkpoint.
	again, err := l.CurrentHead(ctx)
	if err != nil || !again.equal(h) || len(st.entries) != int(last.Seq) {
		t.Errorf("second head %+v %v, %d entries", again, err, len(st.entries))
	}
	for _, against := range []Head{h0, h} {
		if rep, err := l.Verify(ctx, &against); err != nil || rep.Against == nil {
			t.Errorf("verify against %d: %+v %v", against.Seq, rep, err)
		}
	}
	// Several recorded heads at once (partners keep their own), nil
	// ones skipped.
	if rep, err := Verify(ctx, st, &h0, nil, &h); err != nil || len(rep.Against) != 2 || rep.PublicKey != k.PublicHex() {
		t.Errorf("verify against two heads: %+v %v", rep, err)
	}
	// A reopened log continues the chain and its checkpoints.
	l2 := New(st, WithKey(k))
	record(t, l2, 3)
	if _, err := Verify(ctx, st, &h); err != nil {
		t.Error(err)
	}
}

// TestTruncation: entries cut off the end are found, below the last
// checkpoint from the log alone, and below a recorded head even when the
// checkpoint records are removed with them.
func TestTruncation(t *testing.T) {
	ctx := context.Background()
	l, st, _ := testLog(t, Checkpoints(10, time.Hour))
	record(t, l, 20)
	h, err := l.CurrentHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	record(t, l, 20)
	full, err := Verify(ctx, st, &h)
	if err != nil {
		t.Fatal(err)
	}

	saved := *st
	saved.entries, saved.kept = append([]Entry(nil), st.entries...), append([]Head(nil), st.kept...)
	restore := func() {
		st.entries, st.kept = append([]Entry(nil), saved.entries...), append([]Head(nil), saved.kept...)
	}

	// Below the last checkpoint: found without a recorded head.
	st.cut(full.LastCheckpoint.Seq-2, false)
	_, err = Verify(ctx, st, nil)
	wantBroken(t, "cut below the last checkpoint", err, "cut off")
	restore()

	// Records removed with the entries, below the recorded head: only the
	// head tells.
	st.cut(h.Seq-1, true)
	if _, err := Verify(ctx, st, nil); err != nil {
		t.Errorf("entries and records cut: %v (a log cut clean verifies alone: the recorded head is what finds it)", err)
	}
	_, err = Verify(ctx, st, &h)
	wantBroken(t, "cut below the recorded head", err, "cut off", fmt.Sprint("entry ", h.Seq))
	restore()

	// Two partners' heads: a cut between them passes the earlier head
	// and fails on the later one.
	later, err := l.CurrentHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st.cut(later.Seq-1, true)
	if _, err := Verify(ctx, st, &h); err != nil {
		t.Errorf("against the earlier head only: %v", err)
	}
	_, err = Verify(ctx, st, &h, &later)
	wantBroken(t, "cut between two recorded heads", err, "cut off", fmt.Sprint("entry ", later.Seq))

	// Records removed but entries kept: the checkpoint entries say so.
	st.kept = st.kept[:1]
	_, err = Verify(ctx, st, nil)
	wantBroken(t, "records removed", err, "no record")
	restore()

	// A recorded head that the log does not hold at its place.
	forged := h
	forged.Seq++
	_, err = Verify(ctx, st, &forged)
	wantBroken(t, "head moved", err, "signature")
	other, _, _ := testLog(t)
	record(t, other, 3)
	oh, _ := other.CurrentHead(ctx)
	_, err = Verify(ctx, st, &oh)
	wantBroken(t, "another log's head", err)
}

// TestRewrite: an entry rewritten with every later hash recomputed is
// found by the checkpoints after it, unless the rewriter holds the key;
// then by a head recorded before the rewrite.
func TestRewrite(t *testing.T) {
	ctx := context.Background()
	l, st, k := testLog(t, Checkpoints(10, time.Hour))
	record(t, l, 30)
	h, err := l.CurrentHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	record(t, l, 5)

	st.rewrite(5, "someone else", nil)
	// The hash chain alone holds: what was there before anchoring.
	if _, err := verifyChainOnly(ctx, st); err != nil {
		t.Fatalf("the rewrite is not consistent: %v", err)
	}
	_, err = Verify(ctx, st, nil)
	wantBroken(t, "rewrite without the key", err, "checkpoint")

	l2, st2, k2 := testLog(t, Checkpoints(10, time.Hour))
	record(t, l2, 30)
	h2, _ := l2.CurrentHead(ctx)
	record(t, l2, 5)
	st2.rewrite(5, "someone else", k2)
	if _, err := Verify(ctx, st2, nil); err != nil {
		t.Errorf("rewrite with the key: %v (the key's holder can re-sign: the recorded head is what finds it)", err)
	}
	_, err = Verify(ctx, st2, &h2)
	wantBroken(t, "rewrite with the key, against a recorded head", err, fmt.Sprint("entry ", h2.Seq))
	_ = k
	_ = h
}

// verifyChainOnly is the verification the log had before anchoring: the
// hash chain alone.
func verifyChainOnly(ctx context.Context, st Store) (uint64, error) {
	prev, n := genesis, uint64(0)
	err := st.AuditEntries(ctx, 1, func(e Entry) error {
		h, _ := digest(e)
		if e.Prev != prev || h != e.Hash {
			return fmt.Errorf("entry %d", e.Seq)
		}
		prev = e.Hash
		n++
		return nil
	})
	return n, err
}

func TestKeyMismatch(t *testing.T) {
	ctx := context.Background()
	l, st, _ := testLog(t)
	record(t, l, 3)
	other, _ := GenerateKey(nil)
	l2 := New(st, WithKey(other))
	if _, err := l2.CurrentHead(ctx); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("head under another key: %v", err)
	}
	if _, err := l2.Record(ctx, "a", "b", "", nil); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("checkpoint under another key: %v", err)
	}
	if _, err := l2.Verify(ctx, nil); !errors.Is(err, ErrBroken) {
		t.Errorf("verify under another key: %v", err)
	}
	if _, err := l.Verify(ctx, nil); err != nil {
		t.Errorf("verify under the log's key: %v", err)
	}
}
