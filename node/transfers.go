package node

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tracehound/tracehound/alert"
	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/registry"
	"github.com/tracehound/tracehound/detect"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/store/graph"
	"github.com/tracehound/tracehound/trace/report"
)

// transferIndex keeps the registered transfers by counterparty in
// memory, with each counterparty's last verdict, so that a change of the
// screening index is re-evaluated by looking up the registered addresses
// alone and re-screening only those whose facts changed.
type transferIndex struct {
	once sync.Once
	err  error
	// reg serialises registrations and re-evaluations: each reads a
	// verdict, decides and writes it.
	reg sync.Mutex
	// mu guards byAddr, list and what they point to.
	mu     sync.Mutex
	byAddr map[chain.Key]*watched
	// list holds the entries of byAddr in a slice, for passes over all
	// of them split across cores.
	list []*watched
}

// watched is one registered counterparty.
type watched struct {
	addr chain.Address
	ids  []string
	// verdict is the last screening re-evaluation compares against.
	verdict alert.Verdict
	// unchecked are transfers whose transaction the graph did not hold
	// yet: checked again when an ingest touches the address.
	unchecked []string
	// pos is the entry's place in transferIndex.list.
	pos int
}

// loadTransfers reads the registered transfers' index and verdicts once.
func (n *Node) loadTransfers(ctx context.Context) error {
	ti := &n.mon.transfers
	ti.once.Do(func() {
		start := time.Now()
		ti.byAddr = map[chain.Key]*watched{}
		ti.err = n.db.TransferRefs(ctx, func(c chain.Chain, addr, id string, unchecked bool) error {
			w := ti.entryLocked(n.addressOf(c, addr))
			w.ids = append(w.ids, id)
			if unchecked {
				w.unchecked = append(w.unchecked, id)
			}
			return nil
		})
		if ti.err == nil {
			ti.err = n.db.Verdicts(ctx, func(v alert.Verdict) error {
				if w := ti.byAddr[chain.Key{Chain: v.Chain, Value: v.Address}]; w != nil {
					w.verdict = v
				}
				return nil
			})
		}
		if ti.err != nil {
			ti.err = fmt.Errorf("load registered transfers: %w", ti.err)
			return
		}
		n.log.Debug("registered transfers loaded", "addresses", len(ti.byAddr), "elapsed", time.Since(start).String())
	})
	return ti.err
}

// addressOf is a stored canonical address as the index looks it up.
func (n *Node) addressOf(c chain.Chain, v string) chain.Address {
	if a, err := n.parser.Parse(v, c); err == nil && a.Value == v {
		return a
	}
	return chain.Address{Chain: c, Value: v}
}

func (ti *transferIndex) entryLocked(a chain.Address) *watched {
	w := ti.byAddr[a.Key()]
	if w == nil {
		w = &watched{addr: a, pos: len(ti.list)}
		ti.byAddr[a.Key()] = w
		ti.list = append(ti.list, w)
	}
	return w
}

// dropLocked removes an entry.
func (ti *transferIndex) dropLocked(w *watched) {
	delete(ti.byAddr, w.addr.Key())
	last := ti.list[len(ti.list)-1]
	ti.list[w.pos], last.pos = last, w.pos
	ti.list = ti.list[:len(ti.list)-1]
}

// lookup returns the registered counterparty's entry, or nil.
func (ti *transferIndex) lookup(c chain.Chain, addr string) (ids []string, unchecked []string, ok bool) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	w := ti.byAddr[chain.Key{Chain: c, Value: addr}]
	if w == nil {
		return nil, nil, false
	}
	return slices.Clone(w.ids), slices.Clone(w.unchecked), true
}

// RegisteredAddresses is the number of distinct registered
// counterparties.
func (n *Node) RegisteredAddresses(ctx context.Context) (int, error) {
	if err := n.loadTransfers(ctx); err != nil {
		return 0, err
	}
	ti := &n.mon.transfers
	ti.mu.Lock()
	defer ti.mu.Unlock()
	return len(ti.byAddr), nil
}

// Transfer returns a registered transfer.
func (n *Node) Transfer(ctx context.Context, id string) (alert.Transfer, bool, error) {
	if !alert.ValidID(id) {
		return alert.Transfer{}, false, nil
	}
	return n.db.Transfer(ctx, id)
}

// RegisterTransfer registers a customer's deposit or withdrawal and
// answers its risk decision: the counterparty screened by the node's
// screening (passed through whole), the transfer checked against the
// graph where the chain is ingested, the counterparty's learned score.
// A transfer at or above the review risk raises an alert of kind
// transfer. A repeat of a registration answers the stored decision
// (created false); the same id with other content is a ConflictError.
// The transfer is kept whatever the chain says: a disagreement is
// flagged, never a refusal.
func (n *Node) RegisterTransfer(ctx context.Context, req api.TransferRequest) (alert.Transfer, bool, error) {
	t, err := n.readTransfer(req)
	if err != nil {
		return alert.Transfer{}, false, inputErr(err)
	}
	idx, err := n.Index(ctx)
	if err != nil {
		return alert.Transfer{}, false, err
	}
	if err := n.loadTransfers(ctx); err != nil {
		return alert.Transfer{}, false, err
	}
	ti := &n.mon.transfers
	ti.reg.Lock()
	defer ti.reg.Unlock()
	if old, ok, err := n.db.Transfer(ctx, t.ID); err != nil {
		return alert.Transfer{}, false, err
	} else if ok {
		if old.SameRequest(&t) {
			return old, false, nil
		}
		return alert.Transfer{}, false, &api.ConflictError{Err: fmt.Errorf("transfer %s: %w", t.ID, alert.ErrConflict)}
	}
	now := n.now().UTC()
	t.Registered, t.RegisteredBy = now, actor(ctx)
	if t.Check, t.Flags, err = n.checkOnChain(ctx, &t, now); err != nil {
		return alert.Transfer{}, false, err
	}
	cp := n.addressOf(t.Chain, t.Counterparty)
	// Screening and entering the address happen under one lock, which
	// re-evaluation takes to read the index: a layer swapped in between
	// is either seen here or compared against below.
	ti.mu.Lock()
	res := idx.Screen(screen.Query{Address: cp.Value, Chain: cp.Chain})
	fp := fingerprint(idx, idx.Lookup(cp))
	w := ti.entryLocked(cp)
	w.ids = append(w.ids, t.ID)
	if t.Check.Status == alert.CheckUnknownTx {
		w.unchecked = append(w.unchecked, t.ID)
	}
	// A counterparty already registered keeps its verdict: a change not
	// yet re-evaluated must still be found against it.
	var verdicts []alert.Verdict
	if w.verdict.Evaluated.IsZero() {
		w.verdict = verdictOf(cp, res, fp, now)
		verdicts = append(verdicts, w.verdict)
	}
	ti.mu.Unlock()
	undo := func() {
		ti.mu.Lock()
		defer ti.mu.Unlock()
		w.ids = slices.DeleteFunc(w.ids, func(id string) bool { return id == t.ID })
		w.unchecked = slices.DeleteFunc(w.unchecked, func(id string) bool { return id == t.ID })
		if len(verdicts) > 0 {
			w.verdict = alert.Verdict{}
		}
		if len(w.ids) == 0 {
			ti.dropLocked(w)
		}
	}
	var model *detect.AccountScore
	if model, err = n.addressScore(ctx, cp.Chain, cp.Value); err != nil {
		n.log.Warn("transfer: score counterparty", "address", cp.Value, "err", err)
	}
	t.Decision = n.decide(&t, res, model, now)
	if res.Risk == screen.Unknown {
		t.Flags = append(t.Flags, alert.FlagScreeningUnknown)
	}
	var fresh []alert.Alert
	if n.reviewed(res.Risk) {
		a := transferAlert(&t)
		t.Alerts = append(t.Alerts, alert.ID(a.Kind, a.Key))
		if fresh, err = n.mon.inbox.Raise(ctx, actor(ctx), a); err != nil {
			undo()
			return alert.Transfer{}, false, err
		}
	}
	if err := n.db.PutTransfers(ctx, []alert.Transfer{t}, verdicts); err != nil {
		undo()
		return alert.Transfer{}, false, err
	}
	detail := map[string]string{"customer": t.Customer, "chain": string(t.Chain), "tx": t.Tx, "counterparty": t.Counterparty,
		"direction": string(t.Direction), "amount": t.Amount.String(), "action": string(t.Decision.Action), "risk": t.Decision.Risk.String(),
		"chain_check": string(t.Check.Status)}
	if err := n.record(ctx, "transfer.register", t.ID, detail); err != nil {
		return t, true, err
	}
	n.report(ctx, fresh)
	return t, true, nil
}

// reviewed reports whether a risk is at or above the review threshold.
// Unknown (no list loaded, no codec) asks for review in the decision
// but raises no alert: it says the node cannot screen, not that the
// counterparty is risky.
func (n *Node) reviewed(r screen.Risk) bool { return r != screen.Unknown && r >= n.mon.review }

// readTransfer reads a registration into its typed form, canonical
// everywhere: the chain by its strict name, the counterparty parsed
// and checksummed, the transaction hash and the token contract in the
// form the graph keeps them, the amount exact.
func (n *Node) readTransfer(req api.TransferRequest) (alert.Transfer, error) {
	t := alert.Transfer{ID: strings.TrimSpace(req.ID), Customer: strings.TrimSpace(req.Customer), Index: req.Index}
	if !alert.ValidID(t.ID) {
		return t, fmt.Errorf("id %q: want 1 to 128 printable characters without spaces or '/'", req.ID)
	}
	if t.Customer == "" || len(t.Customer) > 200 {
		return t, errors.New("customer: want the customer's reference, 1 to 200 characters")
	}
	c, err := registry.Lookup(strings.TrimSpace(req.Chain))
	if err != nil {
		return t, fmt.Errorf("chain: %w", err)
	}
	t.Chain = c
	a, err := n.parser.Parse(strings.TrimSpace(req.Counterparty), c)
	if err != nil {
		return t, fmt.Errorf("counterparty: %w", err)
	}
	t.Counterparty = a.Value
	if t.Tx, err = txHash(c, req.Tx); err != nil {
		return t, err
	}
	if t.Asset, err = n.assetOf(c, req.Asset); err != nil {
		return t, err
	}
	amt, err := chain.ParseAmount(strings.TrimSpace(req.Amount))
	if err != nil {
		return t, fmt.Errorf("amount %q: want an integer in base units: %w", req.Amount, err)
	}
	if amt.IsZero() {
		return t, errors.New("amount: a transfer moves more than zero")
	}
	t.Amount = amt
	if t.Direction, err = alert.ParseDirection(req.Direction); err != nil {
		return t, err
	}
	if s := strings.TrimSpace(req.Time); s != "" {
		if t.Time, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return t, fmt.Errorf("time %q: want RFC 3339, e.g. 2025-02-21T14:13:00Z", req.Time)
		}
		t.Time = t.Time.UTC()
	}
	if c == chain.Bitcoin && t.Index == nil {
		return t, errors.New("index: a bitcoin transfer needs its output index")
	}
	return t, nil
}

// txHash reads a transaction hash as the graph keeps it: on the chains
// it holds, 32 bytes of lower-case hex, with 0x where the chain writes
// it so.
func txHash(c chain.Chain, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("tx: the transaction hash is missing")
	}
	if !inGraph(c) {
		if len(s) > 128 {
			return "", errors.New("tx: longer than 128 characters")
		}
		return s, nil
	}
	h := strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X"))
	if b, err := hex.DecodeString(h); err != nil || len(b) != 32 {
		return "", fmt.Errorf("tx %q: want a 32-byte transaction hash in hex", s)
	}
	if c == chain.Bitcoin || c == chain.Tron {
		return h, nil
	}
	return "0x" + h, nil
}

// assetOf reads an asset: empty, "native" or the chain's coin symbol for
// the coin; otherwise a token contract, canonical on chains with tokens.
func (n *Node) assetOf(c chain.Chain, s string) (chain.Asset, error) {
	s = strings.TrimSpace(s)
	if u, ok := report.Native(c); s == "" || strings.EqualFold(s, "native") || ok && strings.EqualFold(s, u.Symbol) {
		return chain.Native, nil
	}
	switch c {
	case chain.Ethereum, chain.Tron:
		a, err := n.parser.Parse(s, c)
		if err != nil {
			return "", fmt.Errorf("asset: a token contract address: %w", err)
		}
		return chain.Asset(a.Value), nil
	case chain.Bitcoin:
		return "", fmt.Errorf("asset %q: bitcoin transfers move bitcoin only", s)
	}
	return chain.Asset(s), nil
}

// checkOnChain checks a transfer against the graph: the transaction
// stored, and one of its transfers (at the index, where given) between
// the counterparty and the exchange, of the asset and the amount
// registered. It says what disagrees and flags it; it never refuses.
func (n *Node) checkOnChain(ctx context.Context, t *alert.Transfer, now time.Time) (alert.ChainCheck, []string, error) {
	chk := alert.ChainCheck{Checked: now}
	if !inGraph(t.Chain) {
		chk.Status = alert.CheckNotIngested
		return chk, nil, nil
	}
	g := n.db.Graph()
	tip, ok, err := g.Tip(ctx, t.Chain)
	if err != nil {
		return chk, nil, err
	}
	if !ok {
		chk.Status = alert.CheckNotIngested
		return chk, nil, nil
	}
	rec, ok, err := g.Tx(ctx, t.Chain, t.Tx)
	if err != nil {
		return chk, nil, fmt.Errorf("check transfer %s: %w", t.ID, err)
	}
	if !ok {
		chk.Status = alert.CheckUnknownTx
		chk.Mismatches = []string{fmt.Sprintf("the graph holds %s through block %d and not transaction %s: kept, and checked again as blocks arrive", t.Chain, tip.Height, t.Tx)}
		return chk, []string{alert.FlagUnknownTx}, nil
	}
	chk.Block, chk.Time = rec.Block, rec.Time
	chk.Mismatches, chk.Status = matchTransfer(rec, t), alert.CheckAgrees
	if len(chk.Mismatches) == 0 {
		return chk, nil, nil
	}
	chk.Status = alert.CheckDisagrees
	var flags []string
	for _, m := range chk.Mismatches {
		f := alert.FlagNoTransfer
		switch {
		case strings.HasPrefix(m, "amount"):
			f = alert.FlagAmount
		case strings.HasPrefix(m, "asset"):
			f = alert.FlagAsset
		case strings.HasPrefix(m, "counterparty"):
			f = alert.FlagCounterparty
		}
		if !slices.Contains(flags, f) {
			flags = append(flags, f)
		}
	}
	return chk, flags, nil
}

// matchTransfer compares a registration with its stored transaction and
// says, one line each, what disagrees: each line starts with what it is
// about (amount, asset, counterparty, transfer).
func matchTransfer(rec *graph.TxRecord, t *alert.Transfer) []string {
	if rec.Failed {
		return []string{"transfer: the transaction failed on chain and moved nothing"}
	}
	if len(rec.Outputs) > 0 && t.Index != nil {
		return matchOutput(rec, t)
	}
	var cands []chain.Transfer
	for _, tr := range rec.Transfers {
		if t.Index != nil && tr.Pos != *t.Index {
			continue
		}
		cands = append(cands, tr)
	}
	if len(cands) == 0 {
		if t.Index != nil {
			return []string{fmt.Sprintf("transfer: the transaction has no transfer at index %d", *t.Index)}
		}
		return []string{"transfer: the transaction moved no value"}
	}
	side := func(tr chain.Transfer) bool {
		if t.Direction == alert.Deposit {
			return tr.From == t.Counterparty
		}
		return tr.To == t.Counterparty
	}
	// The best candidate agrees on the most: the counterparty, the asset,
	// the amount, in that order of weight.
	best, bestScore := cands[0], -1
	for _, tr := range cands {
		s := 0
		if side(tr) {
			s += 4
		}
		if tr.Asset == t.Asset {
			s += 2
		}
		if tr.Amount.Cmp(t.Amount) == 0 {
			s++
		}
		if s > bestScore {
			best, bestScore = tr, s
		}
	}
	var out []string
	if !side(best) {
		if t.Direction == alert.Deposit {
			out = append(out, fmt.Sprintf("counterparty: registered as the sender %s; the chain's transfer is from %s", t.Counterparty, best.From))
		} else {
			out = append(out, fmt.Sprintf("counterparty: registered as the recipient %s; the chain's transfer is to %s", t.Counterparty, best.To))
		}
	}
	if best.Asset != t.Asset {
		out = append(out, fmt.Sprintf("asset: registered %s; the chain's transfer moved %s", assetName(t.Asset), assetName(best.Asset)))
	}
	if best.Amount.Cmp(t.Amount) != 0 {
		out = append(out, fmt.Sprintf("amount: registered %s base units; the chain's transfer moved %s", t.Amount, best.Amount))
	}
	return out
}

// matchOutput checks a UTXO transfer by its output.
func matchOutput(rec *graph.TxRecord, t *alert.Transfer) []string {
	i := slices.IndexFunc(rec.Outputs, func(o chain.Output) bool { return o.Index == *t.Index })
	if i < 0 {
		return []string{fmt.Sprintf("transfer: the transaction has no output %d", *t.Index)}
	}
	o := rec.Outputs[i]
	var out []string
	switch t.Direction {
	case alert.Withdrawal:
		if o.Address != t.Counterparty {
			out = append(out, fmt.Sprintf("counterparty: registered as the recipient %s; output %d pays %s", t.Counterparty, o.Index, o.Address))
		}
	default:
		if !slices.ContainsFunc(rec.Inputs, func(in chain.Input) bool { return in.Address == t.Counterparty }) {
			var from []string
			for _, in := range rec.Inputs {
				if in.Address != "" && !slices.Contains(from, in.Address) {
					from = append(from, in.Address)
				}
			}
			out = append(out, fmt.Sprintf("counterparty: registered as the sender %s; the transaction spends from %s", t.Counterparty, strings.Join(from, ", ")))
		}
	}
	if t.Asset != chain.Native {
		out = append(out, fmt.Sprintf("asset: registered %s; a bitcoin output moves bitcoin", assetName(t.Asset)))
	}
	if v := chain.NewAmount(o.Value); v.Cmp(t.Amount) != 0 {
		out = append(out, fmt.Sprintf("amount: registered %s base units; output %d holds %s", t.Amount, o.Index, v))
	}
	return out
}

func assetName(a chain.Asset) string {
	if a == chain.Native {
		return "the native coin"
	}
	return "token " + string(a)
}

// decide makes a transfer's decision from the counterparty's screening,
// the chain check and the learned score.
func (n *Node) decide(t *alert.Transfer, res screen.Result, model *detect.AccountScore, now time.Time) alert.Decision {
	d := alert.Decision{Action: alert.Accept, Risk: res.Risk, Reasons: slices.Clone(res.Reasons), Screening: res, Model: model, Evaluated: now}
	switch {
	case res.Error != nil:
		d.Action = alert.Review
	case res.Sanctioned:
		d.Action = alert.Block
	case res.Risk == screen.Unknown || n.reviewed(res.Risk):
		d.Action = alert.Review
	}
	switch t.Check.Status {
	case alert.CheckDisagrees:
		d.Reasons = append(d.Reasons, screen.Reason{Risk: screen.Medium, Code: "chain_check", Message: "the chain disagrees with the registration: " + strings.Join(t.Check.Mismatches, "; ")})
	case alert.CheckUnknownTx:
		d.Reasons = append(d.Reasons, screen.Reason{Risk: screen.Medium, Code: "chain_check", Message: strings.Join(t.Check.Mismatches, "; ")})
	}
	if t.Check.Status == alert.CheckDisagrees || t.Check.Status == alert.CheckUnknownTx {
		d.Action = maxAction(d.Action, alert.Review)
	}
	// The learned score informs; it does not decide. The model rates
	// accounts with a transfer or two illicit as readily as the
	// phishing accounts it learned from, so it never holds a transfer
	// back on its own.
	if model != nil && model.Illicit {
		d.Reasons = append(d.Reasons, screen.Reason{Risk: screen.Medium, Code: "scorer",
			Message: fmt.Sprintf("the learned scorer rates the counterparty %.3f (illicit at 0.5 and above)", model.Score)})
	}
	sort.SliceStable(d.Reasons, func(i, j int) bool { return d.Reasons[i].Risk > d.Reasons[j].Risk })
	if d.Reasons == nil {
		d.Reasons = []screen.Reason{}
	}
	return d
}

func maxAction(a, b alert.Action) alert.Action {
	rank := map[alert.Action]int{alert.Accept: 0, alert.Review: 1, alert.Block: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// transferAlert is the alert of a transfer that screened at or above the
// review threshold.
func transferAlert(t *alert.Transfer) alert.Alert {
	d := &t.Decision
	why := make([]string, 0, 3)
	for _, r := range d.Reasons {
		if len(why) == 3 {
			break
		}
		why = append(why, r.Message)
	}
	prep := "from"
	if t.Direction == alert.Withdrawal {
		prep = "to"
	}
	return alert.Alert{
		Kind: alert.KindTransfer, Key: t.ID, Severity: severityOf(d.Risk), Chain: t.Chain,
		Addresses: []string{t.Counterparty}, Txs: []string{t.Tx},
		Explanation: fmt.Sprintf("Customer %s's %s %s (%s base units of %s %s %s) screened %s, decided %s: %s.",
			t.Customer, t.Direction, t.ID, t.Amount, assetName(t.Asset), prep, t.Counterparty, d.Risk, d.Action, strings.Join(why, "; ")),
		Amounts: []alert.Amount{{Chain: t.Chain, Asset: t.Asset, Value: t.Amount}},
		Links:   alert.Links{Transfers: []string{t.ID}},
		Model:   d.Model,
	}
}

// verdictOf is the verdict a screening result gives.
func verdictOf(a chain.Address, res screen.Result, fp uint64, now time.Time) alert.Verdict {
	v := alert.Verdict{Chain: a.Chain, Address: a.Value, Risk: res.Risk, Fingerprint: fp, Evaluated: now}
	for _, r := range res.Reasons {
		v.Reasons = append(v.Reasons, r.Message)
	}
	return v
}

// fingerprint digests every fact the index holds on an address (and
// whether a sanctions list is loaded, which turns Unknown into Low), so
// that re-evaluation builds a result only for addresses whose facts
// changed. It is FNV-1a, stable across processes: the fingerprint is
// stored. An address the index knows nothing of, as most registered
// counterparties, costs the look-up alone.
func fingerprint(idx *screen.Index, h screen.Hit) uint64 {
	f := uint64(fnvOffset)
	if idx.SanctionsLoaded() {
		f = fnvString(f, "list")
	}
	if h.Empty() {
		return f
	}
	for _, s := range h.Sanctions {
		f = fnvStrings(f, "s", s.Source, s.Asset, s.Party, s.ListDate.Format(time.DateOnly), strings.Join(s.Programs, ","))
	}
	for _, a := range h.Attributions {
		f = fnvStrings(f, "a", a.Entity, string(a.Category), a.Abuse, a.Source, strconv.Itoa(a.Confidence))
	}
	for _, i := range h.Intel {
		f = fnvStrings(f, "i", i.Partner, i.Indicator, i.Report, i.Marking, i.Category, i.Risk.String())
	}
	return f
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnvString folds s and a terminating zero byte into an FNV-1a hash.
func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h * fnvPrime // ^ 0
}

func fnvStrings(h uint64, ss ...string) uint64 {
	for _, s := range ss {
		h = fnvString(h, s)
	}
	return h
}

// screeningChanged is told that an import replaced a layer of the
// screening index: the serving node's re-evaluation loop runs, or, in a
// command, the re-evaluation runs here.
func (n *Node) screeningChanged(ctx context.Context) {
	m := n.mon
	m.running.Lock()
	looping := m.looping
	m.running.Unlock()
	if looping {
		select {
		case m.changed <- struct{}{}:
		default:
		}
		return
	}
	if _, err := n.reevaluate(ctx); err != nil {
		n.log.Error("re-evaluate registered transfers", "err", err)
	}
}

// reevaluateLoop re-evaluates the registered transfers at start (what
// changed while the node was down, or in a command that could not
// rebuild the intelligence layer) and after every change of the
// screening index, until ctx ends. Changes coalesce.
func (n *Node) reevaluateLoop(ctx context.Context) {
	m := n.mon
	m.running.Lock()
	m.looping = true
	m.running.Unlock()
	defer func() {
		m.running.Lock()
		m.looping = false
		m.running.Unlock()
	}()
	for {
		if c, err := n.reevaluate(ctx); err != nil && ctx.Err() == nil {
			n.log.Error("re-evaluate registered transfers", "err", err)
		} else if c > 0 {
			n.log.Info("re-evaluated registered transfers", "retroactive_alerts", c)
		}
		select {
		case <-ctx.Done():
			return
		case <-m.changed:
		}
	}
}

// changedAddress is a registered counterparty whose facts changed.
type changedAddress struct {
	w  *watched
	fp uint64
}

// changedAddresses looks every entry up in the index and returns those
// whose facts changed since their verdict, splitting the pass across
// cores: a million registered addresses are one look-up each.
func changedAddresses(idx *screen.Index, ws []*watched) []changedAddress {
	workers := runtime.GOMAXPROCS(0)
	if len(ws) < 4096 || workers < 2 {
		return changedIn(idx, ws, nil)
	}
	chunk := (len(ws) + workers - 1) / workers
	parts := make([][]changedAddress, workers)
	var wg sync.WaitGroup
	for k := range workers {
		lo, hi := min(k*chunk, len(ws)), min((k+1)*chunk, len(ws))
		wg.Go(func() { parts[k] = changedIn(idx, ws[lo:hi], nil) })
	}
	wg.Wait()
	return slices.Concat(parts...)
}

func changedIn(idx *screen.Index, ws []*watched, out []changedAddress) []changedAddress {
	for _, w := range ws {
		if fp := fingerprint(idx, idx.Lookup(w.addr)); fp != w.verdict.Fingerprint || w.verdict.Evaluated.IsZero() {
			out = append(out, changedAddress{w, fp})
		}
	}
	return out
}

// reevaluate compares every registered counterparty's facts in the
// screening index with its last verdict, re-screens those that changed,
// and raises a retroactive alert on those that now screen at or above
// the review threshold for a reason their transfers' decisions did not
// have, naming the transfers. It returns the alerts raised.
func (n *Node) reevaluate(ctx context.Context) (int, error) {
	if err := n.loadTransfers(ctx); err != nil {
		return 0, err
	}
	idx := n.index
	ti := &n.mon.transfers
	ti.reg.Lock()
	defer ti.reg.Unlock()
	ti.mu.Lock()
	changed := changedAddresses(idx, ti.list)
	ti.mu.Unlock()
	if len(changed) == 0 {
		return 0, nil
	}
	now := n.now().UTC()
	var (
		alerts   []alert.Alert
		updated  []alert.Transfer
		verdicts []alert.Verdict
	)
	for _, ch := range changed {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		ti.mu.Lock()
		old, ids := ch.w.verdict, slices.Clone(ch.w.ids)
		ti.mu.Unlock()
		res := idx.Screen(screen.Query{Address: ch.w.addr.Value, Chain: ch.w.addr.Chain})
		v := verdictOf(ch.w.addr, res, ch.fp, now)
		verdicts = append(verdicts, v)
		if !n.reviewed(res.Risk) {
			continue
		}
		var facts []screen.Reason
		for _, r := range res.Reasons {
			if n.reviewed(r.Risk) && !slices.Contains(old.Reasons, r.Message) {
				facts = append(facts, r)
			}
		}
		if len(facts) == 0 {
			continue
		}
		ts, err := n.affected(ctx, ids, facts)
		if err != nil {
			return 0, err
		}
		if len(ts) == 0 {
			continue
		}
		a := retroactiveAlert(ch.w.addr, ts, res.Risk, old.Risk, facts, ch.fp)
		id := alert.ID(a.Kind, a.Key)
		for i := range ts {
			d := n.decide(&ts[i], res, ts[i].Decision.Model, now)
			ts[i].Current = &d
			if !slices.Contains(ts[i].Alerts, id) {
				ts[i].Alerts = append(ts[i].Alerts, id)
			}
		}
		alerts = append(alerts, a)
		updated = append(updated, ts...)
	}
	// The alerts first: should storing the verdicts fail, the next
	// re-evaluation raises the same alerts again, which the inbox keeps
	// once.
	fresh, err := n.mon.inbox.Raise(ctx, "monitor", alerts...)
	if err != nil {
		return 0, err
	}
	if err := n.db.PutTransfers(ctx, updated, verdicts); err != nil {
		return 0, err
	}
	ti.mu.Lock()
	for i, ch := range changed {
		ch.w.verdict = verdicts[i]
	}
	ti.mu.Unlock()
	n.report(ctx, fresh)
	return len(fresh), nil
}

// affected reads the transfers of ids whose latest decision lacks one of
// the facts: those a new fact makes risky.
func (n *Node) affected(ctx context.Context, ids []string, facts []screen.Reason) ([]alert.Transfer, error) {
	var out []alert.Transfer
	for _, id := range ids {
		t, ok, err := n.db.Transfer(ctx, id)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		d := &t.Decision
		if t.Current != nil {
			d = t.Current
		}
		for _, f := range facts {
			if !slices.ContainsFunc(d.Reasons, func(r screen.Reason) bool { return r.Message == f.Message }) {
				out = append(out, t)
				break
			}
		}
	}
	return out, nil
}

// retroactiveAlert names the past transfers a new fact about their
// counterparty makes risky.
func retroactiveAlert(a chain.Address, ts []alert.Transfer, risk, was screen.Risk, facts []screen.Reason, fp uint64) alert.Alert {
	ids := make([]string, len(ts))
	var txs []string
	sums := map[chain.Asset]chain.Amount{}
	var assets []chain.Asset
	for i, t := range ts {
		ids[i] = t.ID
		if !slices.Contains(txs, t.Tx) {
			txs = append(txs, t.Tx)
		}
		if _, ok := sums[t.Asset]; !ok {
			assets = append(assets, t.Asset)
		}
		sums[t.Asset], _ = sums[t.Asset].Add(t.Amount)
	}
	amounts := make([]alert.Amount, len(assets))
	for i, as := range assets {
		amounts[i] = alert.Amount{Chain: a.Chain, Asset: as, Value: sums[as]}
	}
	msgs := make([]string, len(facts))
	for i, f := range facts {
		msgs[i] = f.Message
	}
	wasText := was.String()
	if was == 0 {
		wasText = "not rated"
	}
	return alert.Alert{
		Kind: alert.KindRetroactive, Key: strings.Join([]string{string(a.Chain), a.Value, strconv.FormatUint(fp, 16)}, "\x00"),
		Severity: severityOf(risk), Chain: a.Chain, Addresses: []string{a.Value}, Txs: txs,
		Explanation: fmt.Sprintf("%s, the counterparty of %d registered transfer(s) (%s), now screens %s (was %s): %s.",
			a.Value, len(ts), strings.Join(ids, ", "), risk, wasText, strings.Join(msgs, "; ")),
		Amounts: amounts,
		Links:   alert.Links{Transfers: ids},
	}
}

// findingsOnTransfers raises, for each rule or scorer alert whose subject
// is a registered counterparty, a retroactive alert naming its
// transfers, and records it on them.
func (n *Node) findingsOnTransfers(ctx context.Context, as []alert.Alert) error {
	if err := n.loadTransfers(ctx); err != nil {
		return err
	}
	ti := &n.mon.transfers
	var retro []alert.Alert
	for _, a := range as {
		if len(a.Addresses) == 0 || a.Kind != alert.KindRule && a.Kind != alert.KindScorer {
			continue
		}
		ids, _, ok := ti.lookup(a.Chain, a.Addresses[0])
		if !ok {
			continue
		}
		what := "typology " + a.Typology
		if a.Kind == alert.KindScorer {
			what = "the learned scorer"
		}
		retro = append(retro, alert.Alert{
			Kind: alert.KindRetroactive, Key: strings.Join([]string{"finding", a.ID, a.Addresses[0]}, "\x00"),
			Severity: a.Severity, Chain: a.Chain, Addresses: []string{a.Addresses[0]}, Txs: a.Txs, Typology: a.Typology, Score: a.Score,
			Explanation: fmt.Sprintf("%s, the counterparty of %d registered transfer(s) (%s), is the subject of alert %s (%s): %s",
				a.Addresses[0], len(ids), strings.Join(ids, ", "), a.ID, what, a.Explanation),
			Amounts: a.Amounts, Model: a.Model,
			Links: alert.Links{Transfers: ids, Alerts: []string{a.ID}, Finding: a.Links.Finding},
		})
	}
	if len(retro) == 0 {
		return nil
	}
	ti.reg.Lock()
	defer ti.reg.Unlock()
	fresh, err := n.mon.inbox.Raise(ctx, "monitor", retro...)
	if err != nil {
		return err
	}
	var updated []alert.Transfer
	for _, a := range fresh {
		for _, id := range a.Links.Transfers {
			t, ok, err := n.db.Transfer(ctx, id)
			if err != nil {
				return err
			}
			if ok && !slices.Contains(t.Alerts, a.ID) {
				t.Alerts = append(t.Alerts, a.ID)
				updated = append(updated, t)
			}
		}
	}
	if err := n.db.PutTransfers(ctx, updated, nil); err != nil {
		return err
	}
	n.report(ctx, fresh)
	return nil
}

// recheckTransfers checks again, against the graph, the registered
// transfers of the touched addresses whose transactions it did not hold.
func (n *Node) recheckTransfers(ctx context.Context, c chain.Chain, touched []string) error {
	if err := n.loadTransfers(ctx); err != nil {
		return err
	}
	ti := &n.mon.transfers
	var pending []string
	ti.mu.Lock()
	for _, a := range touched {
		if w := ti.byAddr[chain.Key{Chain: c, Value: a}]; w != nil && len(w.unchecked) > 0 {
			pending = append(pending, w.unchecked...)
		}
	}
	ti.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	ti.reg.Lock()
	defer ti.reg.Unlock()
	now := n.now().UTC()
	var updated []alert.Transfer
	for _, id := range pending {
		t, ok, err := n.db.Transfer(ctx, id)
		if err != nil {
			return err
		}
		if !ok || t.Check.Status != alert.CheckUnknownTx {
			continue
		}
		chk, flags, err := n.checkOnChain(ctx, &t, now)
		if err != nil {
			return err
		}
		if chk.Status == alert.CheckUnknownTx {
			continue
		}
		t.Check, t.Flags = chk, flags
		updated = append(updated, t)
		if chk.Status == alert.CheckDisagrees {
			n.log.Warn("registered transfer disagrees with the chain", "transfer", t.ID, "mismatches", strings.Join(chk.Mismatches, "; "))
		}
	}
	if len(updated) == 0 {
		return nil
	}
	if err := n.db.PutTransfers(ctx, updated, nil); err != nil {
		return err
	}
	ti.mu.Lock()
	defer ti.mu.Unlock()
	for _, t := range updated {
		if w := ti.byAddr[chain.Key{Chain: t.Chain, Value: t.Counterparty}]; w != nil {
			w.unchecked = slices.DeleteFunc(w.unchecked, func(id string) bool { return id == t.ID })
		}
	}
	return nil
}
