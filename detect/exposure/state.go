package exposure

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tracehound/tracehound/chain"
)

// ModelVersion names the rules an engine's accounts were kept under: how
// taint moves, what an account records. Accounts saved under another
// model are not restored but rebuilt from the blocks; raise it whenever
// Apply's arithmetic or the account record changes.
const ModelVersion = 1

// State is what an engine is through: saved beside its accounts, so that
// a restored engine continues from the block after Through, provided the
// chain still has block Through with hash Hash.
type State struct {
	Chain   chain.Chain
	MaxHops int
	// Through is the last block applied, Hash its hash; Applied is false
	// before any block was.
	Through uint64
	Hash    string
	Applied bool
	// Accounts counts the address and asset pairs.
	Accounts int
}

// Saved is an engine's saved accounts, read in place (from a mapped
// file): a restored engine reads an address's accounts when it is first
// screened or paid, and keeps them in memory only once they change.
type Saved interface {
	// Record returns the record Save wrote for addr; ok is false if the
	// address had no accounts.
	Record(addr string) (rec []byte, ok bool, err error)
	// Each calls fn with every saved address and record.
	Each(fn func(addr string, rec []byte) error) error
}

// ErrRecord is the error of a saved record that does not decode.
var ErrRecord = errors.New("exposure: malformed saved account")

// State returns what the engine is through.
func (e *Engine) State() State {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.state()
}

func (e *Engine) state() State {
	return State{Chain: e.chain, MaxHops: int(e.maxHops), Through: e.through, Hash: e.hash, Applied: e.applied, Accounts: e.nAccts}
}

// Save calls put with each address that has accounts and their record,
// and returns the state the records are of; blocks wait for it. An
// address's record is what Restore reads back.
func (e *Engine) Save(put func(addr string, rec []byte) error) (State, error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if err := e.Err(); err != nil {
		return State{}, err
	}
	var buf []byte
	for addr, h := range e.holders {
		buf = appendHolder(buf[:0], h)
		if err := put(addr, buf); err != nil {
			return State{}, err
		}
	}
	if e.saved != nil {
		err := e.saved.Each(func(addr string, rec []byte) error {
			if _, changed := e.holders[addr]; changed {
				return nil
			}
			return put(addr, rec)
		})
		if err != nil {
			return State{}, err
		}
	}
	return e.state(), nil
}

// Restore returns an engine continuing from a saved state: its accounts
// are read from saved as they are needed. src names the sources, as to
// NewEngine; they must be those the saved engine followed.
func Restore(st State, src Sources, saved Saved) (*Engine, error) {
	if st.MaxHops < 1 || st.MaxHops > 16 {
		return nil, fmt.Errorf("exposure: restore %s: max hops %d", st.Chain, st.MaxHops)
	}
	e := NewEngine(st.Chain, st.MaxHops, src)
	e.saved, e.nAccts = saved, st.Accounts
	e.through, e.hash, e.applied = st.Through, st.Hash, st.Applied
	return e, nil
}

// Err is the first failure to read the saved accounts: a restored engine
// whose file turned out corrupt answers nothing reliable and must be
// rebuilt.
func (e *Engine) Err() error {
	if p := e.fault.Load(); p != nil {
		return *p
	}
	return nil
}

// restore decodes addr's saved accounts; nil if it has none or they
// cannot be read (Err then says why).
func (e *Engine) restore(addr string) *holder {
	if e.saved == nil {
		return nil
	}
	rec, ok, err := e.saved.Record(addr)
	if err == nil && ok {
		var h *holder
		if h, err = decodeHolder(rec, int(e.maxHops)); err == nil {
			return h
		}
		err = fmt.Errorf("%s %s: %w", e.chain, addr, err)
	}
	if err != nil {
		e.fault.CompareAndSwap(nil, &err)
	}
	return nil
}

// The record of an address:
//
//	holder    account (the native coin's), uvarint n, n × (asset, account)
//	account   balance, received, sent; uvarint n, n × held; n × in; n × out
//	held      category, hop, amount
//	in        category, fewest hops, direct, indirect, tx, from, source
//	out       category, amount, tx, to, largest
//	amount    a length byte (0 to 32) and the big-endian bytes
//	string    uvarint length and bytes

func appendHolder(b []byte, h *holder) []byte {
	b = appendAccount(b, &h.native)
	b = binary.AppendUvarint(b, uint64(len(h.tokens)))
	for _, t := range h.tokens {
		b = appendStr(b, string(t.asset))
		b = appendAccount(b, t.acct)
	}
	return b
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendAmount(b []byte, a chain.Amount) []byte {
	b = append(b, byte(a.ByteLen()))
	return a.AppendBytes(b)
}

func appendAccount(b []byte, a *account) []byte {
	b = appendAmount(b, a.balance)
	b = appendAmount(b, a.received)
	b = appendAmount(b, a.sent)
	b = binary.AppendUvarint(b, uint64(len(a.held)))
	for _, h := range a.held {
		b = append(b, h.cat, h.hop)
		b = appendAmount(b, h.amt)
	}
	b = binary.AppendUvarint(b, uint64(len(a.in)))
	for _, x := range a.in {
		b = append(b, x.cat, x.minHop)
		b = appendAmount(b, x.direct)
		b = appendAmount(b, x.indirect)
		b = appendStr(b, x.tx)
		b = appendStr(b, x.from)
		b = appendStr(b, x.source)
	}
	b = binary.AppendUvarint(b, uint64(len(a.out)))
	for _, x := range a.out {
		b = append(b, x.cat)
		b = appendAmount(b, x.amt)
		b = appendStr(b, x.tx)
		b = appendStr(b, x.to)
		b = appendAmount(b, x.top)
	}
	return b
}

// recReader decodes a record; the first failure sticks.
type recReader struct {
	b   []byte
	err error
}

func (r *recReader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrRecord, what)
	}
	r.b = nil
}

func (r *recReader) byte() byte {
	if len(r.b) == 0 {
		r.fail("truncated")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// count reads a count of items of at least min bytes each.
func (r *recReader) count(min int) int {
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n > uint64(len(r.b)-k)/uint64(min) {
		r.fail("count")
		return 0
	}
	r.b = r.b[k:]
	return int(n)
}

func (r *recReader) str() string {
	n := r.count(1)
	if r.err != nil {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *recReader) amount() chain.Amount {
	n := int(r.byte())
	if r.err != nil {
		return chain.Amount{}
	}
	if n > 32 || n > len(r.b) || (n > 0 && r.b[0] == 0) {
		r.fail("amount")
		return chain.Amount{}
	}
	a, _ := chain.AmountFromBytes(r.b[:n])
	r.b = r.b[n:]
	return a
}

// cat reads a category index, hop a hop count.
func (r *recReader) cat() uint8 {
	c := r.byte()
	if int(c) >= len(Categories) {
		r.fail("category")
	}
	return c
}

func (r *recReader) hop(maxHops int) uint8 {
	h := r.byte()
	if h == 0 || int(h) > maxHops {
		r.fail("hop")
	}
	return h
}

func decodeHolder(rec []byte, maxHops int) (*holder, error) {
	r := recReader{b: rec}
	h := &holder{}
	r.account(&h.native, maxHops)
	if n := r.count(2); n > 0 {
		h.tokens = make([]tokenAccount, n)
		for i := range h.tokens {
			h.tokens[i].asset = chain.Asset(r.str())
			h.tokens[i].acct = &account{}
			r.account(h.tokens[i].acct, maxHops)
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return nil, r.err
	}
	return h, nil
}

func (r *recReader) account(a *account, maxHops int) {
	a.balance, a.received, a.sent = r.amount(), r.amount(), r.amount()
	if n := r.count(3); n > 0 {
		a.held = make([]held, n)
		for i := range a.held {
			a.held[i] = held{cat: r.cat(), hop: r.hop(maxHops), amt: r.amount()}
		}
	}
	if n := r.count(7); n > 0 {
		a.in = make([]inExp, n)
		for i := range a.in {
			x := &a.in[i]
			x.cat, x.minHop = r.cat(), r.hop(maxHops)
			x.direct, x.indirect = r.amount(), r.amount()
			x.tx, x.from, x.source = r.str(), r.str(), r.str()
		}
	}
	if n := r.count(5); n > 0 {
		a.out = make([]outExp, n)
		for i := range a.out {
			x := &a.out[i]
			x.cat, x.amt = r.cat(), r.amount()
			x.tx, x.to, x.top = r.str(), r.str(), r.amount()
		}
	}
}
