package audit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrBroken reports a chain that does not verify.
var ErrBroken = errors.New("audit chain broken")

// Report is what Verify found.
type Report struct {
	Entries uint64 `json:"entries"`
	// Head is the last entry's hash.
	Head string `json:"head"`
	// Checkpoints counts the signed heads checked; LastCheckpoint is the
	// newest. PublicKey is the key that signed them (and the recorded
	// heads).
	Checkpoints    int    `json:"checkpoints"`
	LastCheckpoint *Head  `json:"last_checkpoint,omitempty"`
	PublicKey      string `json:"public_key,omitempty"`
	// Against are the recorded heads the log was found to hold.
	Against []Head `json:"against,omitempty"`
	// Unanchored counts the entries after the last signed head: the ones
	// that could be cut off the log without Verify noticing.
	Unanchored uint64 `json:"unanchored"`
}

// Verify recomputes every hash in order and checks the log's anchors:
//
//   - every checkpoint entry carries a valid signature of the entry
//     before it, and all are signed by one key;
//   - every checkpoint the store keeps apart from the entries is in the
//     chain, at its place, and the chain reaches it: entries cut below
//     the last checkpoint are found;
//   - every head in against (heads recorded outside the node: by the
//     operator, by partners; nil ones are skipped) has a valid signature
//     by the key of the checkpoints, and the chain holds its hash at its
//     sequence number and reaches at least that far.
//
// It returns an error wrapping ErrBroken (or ErrBadSignature), naming the
// first entry that fails, if the log was altered.
//
// Verify trusts the key of the recorded heads, or else the one the
// checkpoints name: it shows that the log is the one that key signed.
// That the key is the node's is for the caller to see in
// Report.PublicKey (Log.Verify checks it against the node's own key).
func Verify(ctx context.Context, st Store, against ...*Head) (Report, error) {
	return verify(ctx, st, against, "")
}

func verify(ctx context.Context, st Store, against []*Head, pin string) (Report, error) {
	var rep Report
	key := pin
	trust := func(h Head, what string) error {
		if err := h.Check(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if key == "" {
			key = h.PublicKey
		} else if h.PublicKey != key {
			return fmt.Errorf("%w: %s is signed by key %s, not %s", ErrBroken, what, h.PublicKey, key)
		}
		return nil
	}
	// The recorded heads, by the sequence number of the entry after them.
	recorded := make(map[uint64][]Head)
	var heads []Head
	for _, h := range against {
		if h == nil {
			continue
		}
		if err := trust(*h, fmt.Sprintf("recorded head at entry %d", h.Seq)); err != nil {
			return rep, err
		}
		recorded[h.Seq+1] = append(recorded[h.Seq+1], *h)
		heads = append(heads, *h)
	}
	// The kept checkpoints, by the sequence number of their entry.
	kept := make(map[uint64]Head)
	var lastKept *Head
	err := st.AuditCheckpoints(ctx, func(h Head) error {
		if err := trust(h, fmt.Sprintf("kept checkpoint of entry %d", h.Seq)); err != nil {
			return err
		}
		kept[h.Seq+1] = h
		lastKept = &h
		return nil
	})
	if err != nil {
		return rep, err
	}
	prev, want := genesis, uint64(1)
	anchored := uint64(0) // the newest entry a signed head fixes
	check := func(h Head, what string) error {
		// The chain has reached h.Seq+1; prev is entry h.Seq+1's Prev.
		if h.Seq != want-1 || h.Hash != prev {
			return fmt.Errorf("%w at entry %d: %s names hash %s, the chain has %s", ErrBroken, h.Seq, what, h.Hash, prev)
		}
		return nil
	}
	err = st.AuditEntries(ctx, 1, func(e Entry) error {
		if e.Seq != want {
			return fmt.Errorf("%w: entry %d follows entry %d (missing or reordered entries)", ErrBroken, e.Seq, want-1)
		}
		if e.Prev != prev {
			return fmt.Errorf("%w at entry %d: it names %s as the entry before, which is %s", ErrBroken, e.Seq, e.Prev, prev)
		}
		h, err := digest(e)
		if err != nil {
			return err
		}
		if h != e.Hash {
			return fmt.Errorf("%w at entry %d (%s by %s at %s): its content does not match its hash", ErrBroken, e.Seq, e.Action, e.Actor, e.Time.Format(time.RFC3339))
		}
		for _, r := range recorded[e.Seq] {
			if err := check(r, fmt.Sprintf("the head recorded %s", r.Time.Format(time.RFC3339))); err != nil {
				return err
			}
			anchored = max(anchored, r.Seq)
		}
		k, isKept := kept[e.Seq]
		if e.Action == ActionCheckpoint {
			cp, err := headFromDetail(e.Detail)
			if err != nil {
				return fmt.Errorf("%w at entry %d: checkpoint: %v", ErrBroken, e.Seq, err)
			}
			if err := trust(cp, fmt.Sprintf("checkpoint entry %d", e.Seq)); err != nil {
				return err
			}
			if err := check(cp, fmt.Sprintf("checkpoint entry %d", e.Seq)); err != nil {
				return err
			}
			if !isKept || !k.equal(cp) {
				return fmt.Errorf("%w at entry %d: the store keeps no record of this checkpoint (checkpoint records removed or replaced)", ErrBroken, e.Seq)
			}
			rep.Checkpoints++
			rep.LastCheckpoint = &cp
			anchored = max(anchored, cp.Seq+1) // its kept record fixes the checkpoint entry too
		} else if isKept {
			return fmt.Errorf("%w at entry %d: the store keeps a checkpoint signed %s for this entry, which is not it", ErrBroken, e.Seq, k.Time.Format(time.RFC3339))
		}
		prev, want = e.Hash, e.Seq+1
		rep.Entries++
		return nil
	})
	rep.Head, rep.PublicKey = prev, key
	if err != nil {
		return rep, err
	}
	last := want - 1
	for _, h := range heads {
		switch {
		case h.Seq == 0:
			if h.Hash != genesis {
				return rep, fmt.Errorf("%w: the head recorded %s at entry 0 names hash %s, not the empty log's", ErrBroken, h.Time.Format(time.RFC3339), h.Hash)
			}
		case last < h.Seq:
			return rep, fmt.Errorf("%w: the log ends at entry %d, but the head recorded %s names entry %d: entries were cut off", ErrBroken, last, h.Time.Format(time.RFC3339), h.Seq)
		case last == h.Seq:
			// The head is the last entry: its hash is the chain's head.
			if h.Hash != prev {
				return rep, fmt.Errorf("%w at entry %d: the head recorded %s names hash %s, the chain has %s", ErrBroken, h.Seq, h.Time.Format(time.RFC3339), h.Hash, prev)
			}
		}
		anchored = max(anchored, h.Seq)
	}
	rep.Against = heads
	if lastKept != nil && last < lastKept.Seq+1 {
		return rep, fmt.Errorf("%w: the log ends at entry %d, but the checkpoint signed %s was written as entry %d: entries were cut off", ErrBroken, last, lastKept.Time.Format(time.RFC3339), lastKept.Seq+1)
	}
	rep.Unanchored = last - anchored
	return rep, nil
}
