package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tracehound/tracehound/api"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/registry"
	"github.com/tracehound/tracehound/cluster"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/tags"
	"github.com/tracehound/tracehound/trace"
	"github.com/tracehound/tracehound/trace/report"
)

// graphChains are the chains the transfer graph holds.
var graphChains = []chain.Chain{chain.Ethereum, chain.Bitcoin, chain.Tron}

// ReadTrace reads a trace request's text form with the node's address
// parser and the strict chain look-up. Mistakes are input errors.
func (n *Node) ReadTrace(s trace.Spec) (trace.Request, error) {
	r, err := s.Request(n.parser, registry.Lookup)
	if err != nil {
		return r, inputErr(err)
	}
	return r, nil
}

// checkTrace vets a request against the node and sets what the node
// decides: the labels that end a branch and the progress report.
func (n *Node) checkTrace(ctx context.Context, req *trace.Request) error {
	if !inGraph(req.Chain) {
		return inputErr(fmt.Errorf("chain %q: the graph holds %s", req.Chain, graphChainNames()))
	}
	if len(req.Seeds) == 0 {
		return inputErr(fmt.Errorf("a trace needs seeds"))
	}
	if req.MaxHops < 0 || req.MaxHops > trace.MaxHops {
		return inputErr(fmt.Errorf("hops %d: want 1 to %d", req.MaxHops, trace.MaxHops))
	}
	labels, err := n.labels(ctx, req.Chain, req.NoCluster)
	if err != nil {
		return err
	}
	req.Labels = labels
	if report := api.ProgressFrom(ctx); report != nil {
		req.Progress = func(tainted, queued int) { report(api.JobProgress{Tainted: tainted, Queued: queued}) }
	}
	return nil
}

func inGraph(c chain.Chain) bool {
	for _, g := range graphChains {
		if c == g {
			return true
		}
	}
	return false
}

func graphChainNames() string {
	s := make([]string, len(graphChains))
	for i, c := range graphChains {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

// labels is what ends a trace's branches on chain c: services tagged in
// the screening index and, unless noCluster, the addresses clustering
// links to them (exchange deposit addresses by their sweeps, Bitcoin
// addresses spent together with a tagged one).
func (n *Node) labels(ctx context.Context, c chain.Chain, noCluster bool) (trace.Labeler, error) {
	idx, err := n.Index(ctx)
	if err != nil {
		return nil, err
	}
	var l trace.Labeler = indexLabels{idx}
	switch {
	case noCluster:
	case c == chain.Bitcoin:
		l = &cluster.MultiInput{Graph: n.traceGraph(ctx), Base: l}
	default:
		l = &cluster.Deposits{Graph: n.traceGraph(ctx), Base: l}
	}
	return l, nil
}

// indexLabels reads service attributions from the screening index: the
// most confident attribution to a service.
type indexLabels struct{ idx *screen.Index }

func (l indexLabels) Label(_ context.Context, c chain.Chain, addr string) (trace.Label, bool, error) {
	h := l.idx.Lookup(chain.Address{Chain: c, Value: addr})
	best := -1
	for i, at := range h.Attributions {
		if at.Category.IsService() && (best < 0 || at.Confidence > h.Attributions[best].Confidence) {
			best = i
		}
	}
	if best < 0 {
		return trace.Label{}, false, nil
	}
	at := h.Attributions[best]
	return trace.Label{Entity: at.Entity, Category: tags.ParseCategory(string(at.Category))}, true, nil
}

// Trace runs a forward trace, checks its own conservation of taint, keeps
// the result under a new id for its freeze requests, and audits who
// traced what. A backward request is refused: see TraceBack.
func (n *Node) Trace(ctx context.Context, req trace.Request) (*trace.Result, error) {
	if req.Backward {
		return nil, inputErr(fmt.Errorf("a backward trace runs with TraceBack"))
	}
	res, err := n.trace(ctx, req)
	detail := traceDetail(req)
	if err == nil {
		detail["endpoints"] = strconv.Itoa(len(res.Endpoints))
		detail["id"] = res.ID
	} else {
		detail["error"] = err.Error()
	}
	if aerr := n.record(ctx, "trace.run", string(req.Chain), detail); aerr != nil {
		return nil, aerr
	}
	return res, err
}

func (n *Node) trace(ctx context.Context, req trace.Request) (*trace.Result, error) {
	if err := n.checkTrace(ctx, &req); err != nil {
		return nil, err
	}
	key, memo := trace.MemoKey(req.Seeds, req.Options, req.NoCluster)
	if memo {
		if res, extra, ok := n.memo.Get(key); ok {
			ev, _ := extra.(report.Evidence)
			res.ID = n.traces.put(res, ev, n.now())
			return res, nil
		}
	}
	gen := n.memo.Generation()
	res, err := trace.Run(ctx, n.traceGraph(ctx), req.Seeds, req.Options)
	if err != nil {
		return nil, err
	}
	if err := res.Check(); err != nil {
		return nil, fmt.Errorf("trace failed its own check: %w", err)
	}
	// The deposit addresses' sweeps are the freeze requests' evidence.
	ev, _ := req.Labels.(report.Evidence)
	if memo {
		n.memo.Put(gen, key, res, ev)
	}
	res.ID = n.traces.put(res, ev, n.now())
	return res, nil
}

// TraceBack runs a backward trace from one address: where what it
// received came from. It is audited as a trace.
func (n *Node) TraceBack(ctx context.Context, req trace.Request) (*trace.BackResult, error) {
	var res *trace.BackResult
	err := n.checkTrace(ctx, &req)
	switch {
	case err != nil:
	case len(req.Seeds) != 1 || req.Seeds[0].Address == "" || req.Seeds[0].Tx != "":
		err = inputErr(fmt.Errorf("a backward trace starts from one address"))
	default:
		res, err = trace.Back(ctx, n.traceGraph(ctx), req.Seeds[0], req.Options)
	}
	detail := traceDetail(req)
	detail["direction"] = "backward"
	if err == nil {
		detail["sources"] = strconv.Itoa(len(res.Sources))
	} else {
		detail["error"] = err.Error()
	}
	if aerr := n.record(ctx, "trace.run", string(req.Chain), detail); aerr != nil {
		return nil, aerr
	}
	return res, err
}

func traceDetail(req trace.Request) map[string]string {
	seeds := make([]string, len(req.Seeds))
	for i, s := range req.Seeds {
		seeds[i] = s.String()
	}
	return map[string]string{"seeds": strings.Join(seeds, " "), "model": string(req.Model), "hops": strconv.Itoa(req.MaxHops)}
}

// TraceResult returns a trace the node ran recently, by its id.
func (n *Node) TraceResult(_ context.Context, id string) (*trace.Result, bool) {
	return n.traces.get(id, n.now())
}

// traceResults keeps the last results for an hour, so that their freeze
// requests and reports can be asked for after the trace.
type traceResults struct {
	mu    sync.Mutex
	byID  map[string]keptTrace
	order []string
}

type keptTrace struct {
	res  *trace.Result
	ev   report.Evidence
	kept time.Time
}

// Bounds of the kept results: an hour, and the most recent 64 (a large
// trace is a few hundred MB).
const (
	traceTTL  = time.Hour
	traceKeep = 64
)

func newTraceResults() *traceResults { return &traceResults{byID: map[string]keptTrace{}} }

func (t *traceResults) put(r *trace.Result, ev report.Evidence, now time.Time) string {
	var b [12]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byID[id] = keptTrace{r, ev, now}
	t.order = append(t.order, id)
	for len(t.order) > traceKeep || len(t.order) > 0 && now.Sub(t.byID[t.order[0]].kept) > traceTTL {
		delete(t.byID, t.order[0])
		t.order = t.order[1:]
	}
	return id
}

// evidence is the sweeps behind a kept trace's deposit addresses, or nil.
func (t *traceResults) evidence(id string) report.Evidence {
	t.mu.Lock()
	defer t.mu.Unlock()
	if k, ok := t.byID[id]; ok && k.ev != nil {
		return k.ev
	}
	return nil
}

func (t *traceResults) get(id string, now time.Time) (*trace.Result, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k, ok := t.byID[id]
	if !ok || now.Sub(k.kept) > traceTTL {
		return nil, false
	}
	return k.res, true
}

// inputErr marks a caller's mistake: the API answers it with 400, the
// command line with a usage error.
func inputErr(err error) error { return &api.InputError{Err: err} }

// lookupChain reads a chain name strictly; with optional, "" and "auto"
// let the address's shape decide.
func lookupChain(name string, optional bool) (chain.Chain, error) {
	if optional && (strings.TrimSpace(name) == "" || strings.EqualFold(strings.TrimSpace(name), "auto")) {
		return "", nil
	}
	c, err := registry.Lookup(name)
	if err != nil {
		return "", inputErr(err)
	}
	return c, nil
}
