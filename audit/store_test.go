package audit

import (
	"context"
	"fmt"
	"slices"
)

// memStore is a Store in memory whose contents tests can tamper with.
type memStore struct {
	entries []Entry // by sequence number, 1 at index 0, as written
	kept    []Head
}

func (m *memStore) AppendAudit(_ context.Context, e Entry) error {
	// Entries are appended in order: only the last can hold e.Seq or more.
	if n := len(m.entries); n > 0 && m.entries[n-1].Seq >= e.Seq {
		return fmt.Errorf("audit entry %d exists", e.Seq)
	}
	m.entries = append(m.entries, e)
	return nil
}

func (m *memStore) AuditEntries(_ context.Context, from uint64, fn func(Entry) error) error {
	for _, e := range m.entries {
		if e.Seq >= from {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *memStore) LastAudit(context.Context) (Entry, bool, error) {
	if len(m.entries) == 0 {
		return Entry{}, false, nil
	}
	return m.entries[len(m.entries)-1], true, nil
}

func (m *memStore) AppendAuditCheckpoint(ctx context.Context, e Entry, h Head) error {
	if err := m.AppendAudit(ctx, e); err != nil {
		return err
	}
	m.kept = append(m.kept, h)
	return nil
}

func (m *memStore) AuditCheckpoints(_ context.Context, fn func(Head) error) error {
	for _, h := range m.kept {
		if err := fn(h); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) LastAuditCheckpoint(context.Context) (Head, bool, error) {
	if len(m.kept) == 0 {
		return Head{}, false, nil
	}
	return m.kept[len(m.kept)-1], true, nil
}

// cut removes the entries after seq, and the kept checkpoints too if
// records is set.
func (m *memStore) cut(seq uint64, records bool) {
	m.entries = slices.DeleteFunc(m.entries, func(e Entry) bool { return e.Seq > seq })
	if records {
		m.kept = slices.DeleteFunc(m.kept, func(h Head) bool { return h.Seq >= seq })
	}
}

// rewrite changes entry seq's actor and recomputes every later hash, as
// someone with write access to the store would. With a key, it also
// signs every later checkpoint (entries and kept records) again.
func (m *memStore) rewrite(seq uint64, actor string, k *Key) {
	var kept []Head
	for i := range m.entries {
		e := &m.entries[i]
		if e.Seq < seq {
			continue
		}
		if e.Seq == seq {
			e.Actor = actor
		} else {
			e.Prev = m.entries[i-1].Hash
		}
		if e.Action == ActionCheckpoint && k != nil {
			old, _ := headFromDetail(e.Detail)
			h := signHead(k, e.Seq-1, e.Prev, old.Time)
			e.Detail = h.detail()
			kept = append(kept, h)
		}
		e.Hash, _ = digest(*e)
	}
	if k != nil {
		m.kept = slices.DeleteFunc(m.kept, func(h Head) bool { return h.Seq >= seq })
		m.kept = append(m.kept, kept...)
	}
}
