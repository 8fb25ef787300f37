// Package audit keeps an append-only, tamper-evident log of what a node
// did on whose behalf: which partner was sent which objects, who was
// refused, who ran which trace. Each entry carries the SHA-256 of the
// entry before it, so that changing, removing or reordering any entry
// breaks every hash after it, and Verify finds where.
//
// A hash chain alone does not show that entries were cut off its end, or
// that an entry was rewritten with every later hash recomputed. So the
// log is anchored: the node signs heads of the chain with its ed25519 key
// (Head) and appends them as checkpoint entries, periodically and
// whenever a head is asked for (Log.CurrentHead); the store keeps each
// checkpoint apart from the entries too. Verify then finds entries cut
// below the last checkpoint, rewrites before a checkpoint by anyone
// without the key, and, given a head recorded outside the node, any
// rewrite or truncation up to that head, even by the key's holder.
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

// ActionCheckpoint is the action of the entries that carry a signed head
// of the entry before them (its Detail holds the head's fields).
const ActionCheckpoint = "audit.checkpoint"

// genesis is the Prev of the first entry: the hash of "entry 0".
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
	// AppendAuditCheckpoint appends e, a checkpoint entry, and keeps h,
	// the head it carries, apart from the entries, in one atomic write:
	// cutting entries off the log then leaves the checkpoint that names
	// them.
	AppendAuditCheckpoint(ctx context.Context, e Entry, h Head) error
	// AuditCheckpoints calls fn for the kept heads in sequence order.
	AuditCheckpoints(ctx context.Context, fn func(Head) error) error
	// LastAuditCheckpoint returns the newest kept head.
	LastAuditCheckpoint(ctx context.Context) (Head, bool, error)
}

// Defaults for checkpoints: a signed head after this many entries, or on
// the first entry this long after the last checkpoint.
const (
	DefaultCheckpointEvery    = 64
	DefaultCheckpointInterval = 10 * time.Minute
)

// Log appends to a store. It is safe for concurrent use.
type Log struct {
	st  Store
	now func() time.Time

	key      *Key
	every    uint64
	interval time.Duration

	mu   sync.Mutex
	last *Entry
	// lastCP is the newest checkpoint's head, valid with last.
	lastCP   Head
	hasCP    bool
	keyError error
}

// Option configures a Log.
type Option func(*Log)

// WithKey signs checkpoints with k. Without a key the log is a bare hash
// chain: Verify can then not tell entries cut off its end.
func WithKey(k *Key) Option { return func(l *Log) { l.key = k } }

// Checkpoints sets how often the log signs its head: after every
// entries, or on the first entry interval after the last checkpoint
// (zero keeps a default).
func Checkpoints(every int, interval time.Duration) Option {
	return func(l *Log) {
		if every > 0 {
			l.every = uint64(every)
		}
		if interval > 0 {
			l.interval = interval
		}
	}
}

// WithClock sets the log's clock (tests).
func WithClock(now func() time.Time) Option { return func(l *Log) { l.now = now } }

// New returns a log over st.
func New(st Store, opts ...Option) *Log {
	l := &Log{st: st, now: time.Now, every: DefaultCheckpointEvery, interval: DefaultCheckpointInterval}
	for _, o := range opts {
		o(l)
	}
	return l
}

// ErrKeyMismatch reports a node key other than the one that signed the
// log's checkpoints: the key file was replaced or lost. The log cannot
// continue under another key without breaking its own verification.
var ErrKeyMismatch = errors.New("audit key does not match the key that signed the log's checkpoints")

// load reads the newest entry and checkpoint once. l.mu is held.
func (l *Log) load(ctx context.Context) error {
	if l.last != nil {
		return nil
	}
	last, ok, err := l.st.LastAudit(ctx)
	if err != nil {
		return err
	}
	if !ok {
		last = Entry{Seq: 0, Hash: genesis}
	}
	cp, hasCP, err := l.st.LastAuditCheckpoint(ctx)
	if err != nil {
		return err
	}
	l.last, l.lastCP, l.hasCP, l.keyError = &last, cp, hasCP, nil
	if l.key != nil && hasCP && cp.PublicKey != l.key.PublicHex() {
		l.keyError = fmt.Errorf("%w: the log's last checkpoint (entry %d) is signed by %s, this node's key is %s", ErrKeyMismatch, cp.Seq, cp.PublicKey, l.key.PublicHex())
	}
	return nil
}

// Record appends an event and returns it with its sequence number and
// hash. With a key, a checkpoint follows when one is due; an error then
// may come with the recorded entry.
func (l *Log) Record(ctx context.Context, actor, action, target string, detail map[string]string) (Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.load(ctx); err != nil {
		return Entry{}, fmt.Errorf("audit: %w", err)
	}
	e, err := l.appendLocked(ctx, Entry{Time: l.now().UTC().Truncate(time.Microsecond), Actor: actor, Action: action, Target: target, Detail: detail}, nil)
	if err != nil {
		return Entry{}, err
	}
	if l.key != nil && l.checkpointDue(e) {
		if _, err := l.checkpointLocked(ctx); err != nil {
			return e, err
		}
	}
	return e, nil
}

// checkpointDue reports whether the entry just written calls for a
// checkpoint after it.
func (l *Log) checkpointDue(e Entry) bool {
	var since uint64
	var at time.Time
	if l.hasCP {
		since, at = l.lastCP.Seq+1, l.lastCP.Time
	}
	return e.Seq-since >= l.every || at.IsZero() || e.Time.Sub(at) >= l.interval
}

// appendLocked chains e onto the last entry and stores it (as a
// checkpoint with cp). l.mu is held and the log loaded.
func (l *Log) appendLocked(ctx context.Context, e Entry, cp *Head) (Entry, error) {
	e.Seq, e.Prev = l.last.Seq+1, l.last.Hash
	h, err := digest(e)
	if err != nil {
		return Entry{}, fmt.Errorf("audit: %w", err)
	}
	e.Hash = h
	if cp == nil {
		err = l.st.AppendAudit(ctx, e)
	} else {
		err = l.st.AppendAuditCheckpoint(ctx, e, *cp)
	}
	if err != nil {
		// The store may hold the entry or not: read it again next time.
		l.last = nil
		return Entry{}, fmt.Errorf("audit: %w", err)
	}
	l.last = &e
	return e, nil
}

// checkpointLocked signs the head at the last entry and appends it as a
// checkpoint entry. l.mu is held and the log loaded.
func (l *Log) checkpointLocked(ctx context.Context) (Head, error) {
	if l.keyError != nil {
		return Head{}, fmt.Errorf("audit: %w", l.keyError)
	}
	now := l.now()
	h := signHead(l.key, l.last.Seq, l.last.Hash, now)
	if _, err := l.appendLocked(ctx, Entry{Time: h.Time, Actor: "node", Action: ActionCheckpoint, Detail: h.detail()}, &h); err != nil {
		return Head{}, fmt.Errorf("audit checkpoint: %w", err)
	}
	l.lastCP, l.hasCP = h, true
	return h, nil
}

// ErrNoKey reports a log without a signing key asked for a head.
var ErrNoKey = errors.New("audit log has no signing key")

// CurrentHead returns a signed head of the log as it stands, to be
// recorded outside the node: the last checkpoint if nothing followed it,
// or else a new checkpoint of the last entry. Calling it at start-up also
// checks that the key is the one that signed the log so far.
func (l *Log) CurrentHead(ctx context.Context) (Head, error) {
	if l.key == nil {
		return Head{}, ErrNoKey
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.load(ctx); err != nil {
		return Head{}, fmt.Errorf("audit: %w", err)
	}
	if l.keyError != nil {
		return Head{}, fmt.Errorf("audit: %w", l.keyError)
	}
	if l.hasCP && l.lastCP.Seq+1 == l.last.Seq {
		return l.lastCP, nil
	}
	return l.checkpointLocked(ctx)
}

// Verify checks the log in l's store as the package's Verify does,
// trusting only l's key: every checkpoint and recorded head must be
// signed by it.
func (l *Log) Verify(ctx context.Context, against ...*Head) (Report, error) {
	var pin string
	if l.key != nil {
		pin = l.key.PublicHex()
	}
	return verify(ctx, l.st, against, pin)
}
