package graph

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/tracehound/tracehound/chain"
)

// totals are an address's running sums. They are written as Pebble merge
// operands (one per address per batch) and folded by totalsMerger, so
// that ingest never reads before it writes.
type totals struct {
	first, last int64 // unix seconds; 0 when unset
	in, out     uint64
	fees        chain.Amount
	assets      []assetTotals
	one         [1]assetTotals // assets' first, when a writer allocates t
}

type assetTotals struct {
	asset          chain.Asset
	received, sent chain.Amount
}

func (t *totals) seen(ts int64) {
	if t.first == 0 || ts < t.first {
		t.first = ts
	}
	if ts > t.last {
		t.last = ts
	}
}

func (t *totals) add(asset chain.Asset, a chain.Amount, incoming bool, ts int64) {
	t.seen(ts)
	at := t.asset(asset)
	if incoming {
		t.in++
		at.received, _ = at.received.Add(a)
	} else {
		t.out++
		at.sent, _ = at.sent.Add(a)
	}
}

func (t *totals) addFee(fee chain.Amount, ts int64) {
	t.seen(ts)
	t.fees, _ = t.fees.Add(fee)
}

func (t *totals) asset(a chain.Asset) *assetTotals {
	for i := range t.assets {
		if t.assets[i].asset == a {
			return &t.assets[i]
		}
	}
	t.assets = append(t.assets, assetTotals{asset: a})
	return &t.assets[len(t.assets)-1]
}

// merge adds o into t.
func (t *totals) merge(o *totals) {
	if o.first != 0 {
		t.seen(o.first)
	}
	if o.last != 0 {
		t.seen(o.last)
	}
	t.in += o.in
	t.out += o.out
	t.fees, _ = t.fees.Add(o.fees)
	for _, oa := range o.assets {
		at := t.asset(oa.asset)
		at.received, _ = at.received.Add(oa.received)
		at.sent, _ = at.sent.Add(oa.sent)
	}
}

func (t *totals) encode() []byte { return t.appendEncode(nil) }

// appendEncode appends t's encoding to b.
func (t *totals) appendEncode(b []byte) []byte {
	e := enc{b: b}
	e.u8(1)
	e.svar(t.first)
	e.svar(t.last)
	e.uvar(t.in)
	e.uvar(t.out)
	e.amount(t.fees)
	e.uvar(uint64(len(t.assets)))
	for _, a := range t.assets {
		e.str(string(a.asset))
		e.amount(a.received)
		e.amount(a.sent)
	}
	return e.b
}

func decodeTotals(v []byte) (*totals, error) {
	t := &totals{}
	return t, t.decode(v, nil)
}

// decode sets t to the totals encoded in v, reusing t's memory; assets,
// if not nil, interns the assets' names.
func (t *totals) decode(v []byte, assets map[string]chain.Asset) error {
	d := dec{b: v}
	if d.u8() != 1 {
		return errCorrupt
	}
	*t = totals{first: d.svar(), last: d.svar(), in: d.uvar(), out: d.uvar(), fees: d.amount(), assets: t.assets[:0]}
	n := d.uvar()
	for i := uint64(0); i < n && d.err == nil; i++ {
		name := d.bytes()
		a, ok := assets[string(name)]
		if !ok {
			a = chain.Asset(name)
			if assets != nil {
				assets[string(a)] = a
			}
		}
		t.assets = append(t.assets, assetTotals{asset: a, received: d.amount(), sent: d.amount()})
	}
	return d.err
}

// totalsMergerName is persisted in the store's options; changing it makes
// Pebble refuse to open an existing store.
const totalsMergerName = "tracehound.totals.v1"

func newMerger() *pebble.Merger {
	return &pebble.Merger{
		Name: totalsMergerName,
		Merge: func(key, value []byte) (pebble.ValueMerger, error) {
			t, err := decodeTotals(value)
			if err != nil {
				return nil, fmt.Errorf("merge %q: %w", key, err)
			}
			return &totalsMerger{t: t}, nil
		},
	}
}

// totalsMerger folds operands; addition is associative and commutative,
// so newer and older operands fold the same way.
type totalsMerger struct{ t *totals }

func (m *totalsMerger) MergeNewer(v []byte) error { return m.fold(v) }
func (m *totalsMerger) MergeOlder(v []byte) error { return m.fold(v) }

func (m *totalsMerger) fold(v []byte) error {
	o, err := decodeTotals(v)
	if err != nil {
		return err
	}
	m.t.merge(o)
	return nil
}

func (m *totalsMerger) Finish(bool) ([]byte, io.Closer, error) { return m.t.encode(), nil, nil }

// AssetTotals are an address's sums for one asset.
type AssetTotals struct {
	Asset    chain.Asset  `json:"asset"`
	Received chain.Amount `json:"received"`
	Sent     chain.Amount `json:"sent"`
}

// Totals summarise an address.
type Totals struct {
	Chain     chain.Chain   `json:"chain"`
	Address   string        `json:"address"`
	FirstSeen time.Time     `json:"first_seen"`
	LastSeen  time.Time     `json:"last_seen"`
	Incoming  uint64        `json:"incoming_transfers"`
	Outgoing  uint64        `json:"outgoing_transfers"`
	FeesPaid  chain.Amount  `json:"fees_paid"`
	Assets    []AssetTotals `json:"assets"`
}

// AddressTotals returns an address's totals; ok is false if the address
// never appears in the graph.
func (d *Store) AddressTotals(ctx context.Context, c chain.Chain, addr string) (Totals, bool, error) {
	if err := ctx.Err(); err != nil {
		return Totals{}, false, err
	}
	v, ok, err := d.get(addrKey(gTotals, c, addr))
	if err != nil || !ok {
		return Totals{}, ok, err
	}
	t, err := decodeTotals(v)
	if err != nil {
		return Totals{}, false, fmt.Errorf("read totals of %s: %w", addr, err)
	}
	out := Totals{Chain: c, Address: addr, FirstSeen: time.Unix(t.first, 0).UTC(), LastSeen: time.Unix(t.last, 0).UTC(),
		Incoming: t.in, Outgoing: t.out, FeesPaid: t.fees}
	for _, a := range t.assets {
		out.Assets = append(out.Assets, AssetTotals{Asset: a.asset, Received: a.received, Sent: a.sent})
	}
	slices.SortFunc(out.Assets, func(a, b AssetTotals) int {
		switch {
		case a.Asset < b.Asset:
			return -1
		case a.Asset > b.Asset:
			return 1
		}
		return 0
	})
	return out, true, nil
}
