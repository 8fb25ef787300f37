// Package audit keeps an append-only, tamper-evident log of what a node
// did on whose behalf: which partner was sent which objects, who was
// refused, who ran which trace. Each entry carries the SHA-256 of the
// entry before it, so that changing, removing or reordering any entry
// breaks every hash after it, and Verify finds where.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Entry is one audited event.
type Entry struct {
	Seq    uint64            `json:"seq"`
	Time   time.Time         `json:"time"`
	Actor  string            `json:"actor"`  // the key or partner acting
	Action string            `json:"action"` // e.g. "taxii.objects.served", "taxii.denied", "trace.run"
	Target string            `json:"target,omitempty"`
	Detail map[string]string `json:"detail,omitempty"`
	// Prev is the previous entry's hash (64 zeros for the first); Hash is
	// this entry's, over Prev and the fields above.
	Prev string `json:"prev"`
	Hash string `json:"hash"`
}

// genesis is the Prev of the first entry.
var genesis = hex.EncodeToString(make([]byte, sha256.Size))

// digest hashes an entry's content with its predecessor's hash. The
// content is the entry's JSON with Hash empty: encoding/json writes
// struct fields in order and map keys sorted, so it is canonical.
func digest(e Entry) (string, error) {
	e.Hash = ""
	b, err := json.Marshal(e)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Store persists entries in sequence order. Append must refuse to
// overwrite an existing sequence number.
type Store interface {
	AppendAudit(ctx context.Context, e Entry) error
	// AuditEntries calls fn for the entries from seq on, in order.
	AuditEntries(ctx context.Context, from uint64, fn func(Entry) error) error
	// LastAudit returns the newest entry, or false if there is none.
	LastAudit(ctx context.Context) (Entry, bool, error)
}

// Log appends to a store. It is safe for concurrent use.
type Log struct {
	st  Store
	now func() time.Time

	mu   sync.Mutex
	last *Entry
}

// New returns a log over st.
func New(st Store) *Log { return &Log{st: st, now: time.Now} }

// Record appends an event and returns it with its sequence number and
// hash.
func (l *Log) Record(ctx context.Context, actor, action, target string, detail map[string]string) (Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		last, ok, err := l.st.LastAudit(ctx)
		if err != nil {
			return Entry{}, fmt.Errorf("audit: %w", err)
		}
		if !ok {
			last = Entry{Seq: 0, Hash: genesis}
		}
		l.last = &last
	}
	e := Entry{Seq: l.last.Seq + 1, Time: l.now().UTC().Truncate(time.Microsecond), Actor: actor, Action: action, Target: target, Detail: detail, Prev: l.last.Hash}
	h, err := digest(e)
	if err != nil {
		return Entry{}, fmt.Errorf("audit: %w", err)
	}
	e.Hash = h
	if err := l.st.AppendAudit(ctx, e); err != nil {
		// The store may hold the entry or not: read it again next time.
		l.last = nil
		return Entry{}, fmt.Errorf("audit: %w", err)
	}
	l.last = &e
	return e, nil
}

// ErrBroken reports a chain that does not verify.
var ErrBroken = errors.New("audit chain broken")

// Report is what Verify found.
type Report struct {
	Entries uint64 `json:"entries"`
	// Head is the last entry's hash: publishing it lets a third party
	// check later that the log was not rewritten.
	Head string `json:"head"`
}

// Verify recomputes every hash in order. It returns ErrBroken, naming the
// first entry that does not follow from the one before, if the log was
// altered.
func Verify(ctx context.Context, st Store) (Report, error) {
	prev, want := genesis, uint64(1)
	var rep Report
	err := st.AuditEntries(ctx, 1, func(e Entry) error {
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
		prev, want = e.Hash, e.Seq+1
		rep.Entries++
		return nil
	})
	rep.Head = prev
	return rep, err
}
