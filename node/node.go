// Package node is a running tracehound node: the one type the command
// line and the HTTP API both drive. It opens the store, loads the
// screening index, and holds every part (the trace cache, the watches,
// the TAXII server, the followers of chain nodes, the pollers of partner
// nodes, the pruners); Run starts and stops them all in one place.
//
// Its methods take typed requests and return typed results; every rule a
// user can reach (which seeds a trace takes, which categories end it,
// who may publish in the node's name, what a shared alert says) lives
// here or in the domain packages it calls, never in the command line.
package node

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/cases"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/registry"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/taxii"
	"github.com/tracehound/tracehound/trace"
	"github.com/tracehound/tracehound/watch"
)

// Config sets up a node.
type Config struct {
	// DataDir is the store's directory.
	DataDir string
	Logger  *slog.Logger
	// TAXII adjusts the node's TAXII server (status retention, say).
	TAXII func(*taxii.Config)
	// Now is the clock; time.Now if nil.
	Now func() time.Time
	// Policy rates screening answers; screen.DefaultPolicy if nil.
	Policy *screen.Policy
	// ReviewRisk is the risk at and above which a registered transfer
	// raises an alert, and a re-evaluation a retroactive one; High if
	// zero.
	ReviewRisk screen.Risk
}

// Node is an open node.
type Node struct {
	cfg    Config
	db     *pebble.DB
	log    *slog.Logger
	parser *chain.Parser
	audit  *audit.Log
	keys   *auth.Keyring
	now    func() time.Time

	// index is the screening index, loaded on first use (screening,
	// tracing's labels) and kept current as imports land.
	index     *screen.Index
	indexOnce sync.Once
	indexErr  error

	// graph serves traces: the store with recently traced addresses'
	// transfers kept in memory. An ingest in the same process drops the
	// histories each batch changes (see graphChanged).
	graph atomic.Pointer[trace.CachedGraph]
	// traces are recent results by id, for their freeze requests.
	traces *traceResults
	// watches keeps the live traces and their alerts.
	watches *watch.Service
	// tx is the node's one TAXII server: partners' requests and what the
	// node publishes itself (shared alerts, reports) go through it, since
	// one instance serialises a collection's writes.
	tx *taxii.Server
	// intelDirty signals that shared intelligence awaits indexing.
	intelDirty chan struct{}
	// mu serialises imports: each replaces a whole index layer.
	mu sync.Mutex
	// alerts fans watch alerts out to their reporters (webhook, SSE).
	alerts alertFanout
	// cases are the investigations.
	cases *cases.Service
	// exp keeps every graph address's exposure for screening.
	exp *exposures
	// mon is the monitoring: the alert inbox, registered transfers,
	// detection on ingested blocks (monitor, in alerts.go).
	mon *monitor
}

// traceCacheBudget is the postings the trace cache holds: about 160 MB,
// and at most 450 MB of the strings they refer to.
const traceCacheBudget = 2_000_000

// Open opens the store in cfg.DataDir. The screening index is loaded on
// first use; serving loads it before it listens.
func Open(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	db, err := pebble.Open(ctx, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	keys, err := db.Keys(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	// The audit log signs its heads with the node's key, kept beside the
	// store, so that a cut or rewritten log is caught against a head
	// recorded elsewhere.
	key, created, err := audit.LoadOrCreateKey(filepath.Join(cfg.DataDir, audit.KeyFile))
	if err != nil {
		db.Close()
		return nil, err
	}
	if created {
		cfg.Logger.Info("created the audit log's signing key: back it up", "file", filepath.Join(cfg.DataDir, audit.KeyFile))
	}
	p := registry.NewParser()
	n := &Node{
		cfg: cfg, db: db, log: cfg.Logger, parser: p, now: cfg.Now,
		audit:      audit.New(db, audit.WithKey(key), audit.WithClock(cfg.Now)),
		keys:       auth.NewKeyring(keys),
		index:      screen.NewIndex(p, cfg.Policy),
		traces:     newTraceResults(),
		intelDirty: make(chan struct{}, 1),
	}
	n.exp = newExposures(n)
	n.watches = watch.NewService(db, n.audit, n)
	n.mon = newMonitor(n, cfg.ReviewRisk)
	n.tx = n.newTAXII()
	if n.cases, err = n.newCases(); err != nil {
		db.Close()
		return nil, err
	}
	n.refreshGraph()
	return n, nil
}

// Close closes the store. Whatever Run started must have stopped.
func (n *Node) Close() error {
	if err := n.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// Dir is the data directory.
func (n *Node) Dir() string { return n.cfg.DataDir }

// Store is the node's store, for commands that read it directly.
func (n *Node) Store() *pebble.DB { return n.db }

// Parser validates addresses of every chain the node knows.
func (n *Node) Parser() *chain.Parser { return n.parser }

// Keys is the keyring the API authenticates against.
func (n *Node) Keys() *auth.Keyring { return n.keys }

// Index returns the screening index, loading its layers (sanctions,
// attributions, shared intelligence) on first use.
func (n *Node) Index(ctx context.Context) (*screen.Index, error) {
	n.indexOnce.Do(func() {
		start := time.Now()
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.indexErr = n.reloadSanctions(ctx); n.indexErr != nil {
			return
		}
		if n.indexErr = n.reloadTags(ctx); n.indexErr != nil {
			return
		}
		if n.indexErr = n.reloadIntel(ctx); n.indexErr != nil {
			return
		}
		n.log.Debug("screening index loaded", "elapsed", time.Since(start).String())
	})
	return n.index, n.indexErr
}

// traceGraph is the graph traces read now.
func (n *Node) traceGraph() *trace.CachedGraph { return n.graph.Load() }

// refreshGraph drops every cached posting.
func (n *Node) refreshGraph() {
	n.graph.Store(trace.NewCachedGraph(n.db.Graph(), traceCacheBudget))
}

// graphChanged keeps the trace cache true to the store as an ingest
// writes: the histories a batch changed are dropped, the rest stay warm,
// so that watches rerun on every block at the cache's speed.
func (n *Node) graphChanged(c chain.Chain) func(addrs []string, all bool) {
	return func(addrs []string, all bool) {
		if all {
			n.refreshGraph()
		} else {
			n.traceGraph().Forget(c, addrs)
		}
		n.exp.graphChanged(c, all)
	}
}

// record appends an entry to the audit log under the acting key (or the
// command line's actor).
func (n *Node) record(ctx context.Context, action, target string, detail map[string]string) error {
	if _, err := n.audit.Record(ctx, actor(ctx), action, target, detail); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

type actorKey struct{}

// AsActor names who acts in ctx when no API key does: the command line
// passes "cli", so that the audit log says where a change came from.
func AsActor(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, actorKey{}, name)
}

// actor names the API key acting, or the actor AsActor set.
func actor(ctx context.Context) string {
	if k := auth.KeyFrom(ctx); k != nil {
		return k.Name
	}
	if a, ok := ctx.Value(actorKey{}).(string); ok {
		return a
	}
	return "unknown"
}
