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
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/cases"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/chain/registry"
	"github.com/tracehound/tracehound/sanctions"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/store/graph"
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
	// indexReady says the index loaded without error.
	indexReady atomic.Bool
	// snap is the screening snapshot the index and the exposure engines
	// were restored from, nil if none was usable; storeID identifies the
	// data directory in it.
	snap    snapshotState
	storeID string

	// graph serves traces: the traversal layout of the store (or the
	// store itself until the traversal opens, or if it cannot), with
	// recently traced addresses' transfers kept in memory where it is the
	// store. An ingest in the same process drops the histories each batch
	// changes (see graphChanged).
	graph atomic.Pointer[trace.CachedGraph]
	// trav is the traversal layout, opened by the first trace; travMu
	// serialises the opening.
	travMu sync.Mutex
	trav   atomic.Pointer[graph.Traversal]
	// traces are recent results by id, for their freeze requests.
	traces *traceResults
	// memo answers a trace asked again while the graph and the screening
	// index stay as they were; any change to either clears it.
	memo *trace.Memo
	// watches keeps the live traces and their alerts.
	watches *watch.Service
	// tx is the node's one TAXII server: partners' requests and what the
	// node publishes itself (shared alerts, reports) go through it, since
	// one instance serialises a collection's writes.
	tx *taxii.Server
	// intelDirty signals that shared intelligence awaits indexing.
	intelDirty chan struct{}
	// intel is the intelligence layer's view, shared by the loop that
	// keeps it current with the store and the pollers, which flag a
	// peer's objects before they store them.
	intel liveIntel
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

// traceMemoEntries and traceMemoItems bound the results the node keeps
// for the same question asked again: sixteen traces, with 500,000 nodes
// and edges together (about 150 MB; a trace of ten thousand addresses
// has about 40,000).
const (
	traceMemoEntries = 16
	traceMemoItems   = 500_000
)

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
		cfg: cfg, db: db, log: cfg.Logger, parser: p, now: cfg.Now, storeID: key.PublicHex(),
		audit:      audit.New(db, audit.WithKey(key), audit.WithClock(cfg.Now)),
		keys:       auth.NewKeyring(keys),
		index:      screen.NewIndex(p, cfg.Policy),
		traces:     newTraceResults(),
		memo:       trace.NewMemo(traceMemoEntries, traceMemoItems),
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

// Close saves the screening snapshot if the index or the exposure
// changed since it was read, and closes the store. Whatever Run started
// must have stopped.
func (n *Node) Close() error {
	if err := n.SaveSnapshot(context.Background(), false); err != nil {
		// The snapshot is a cache of the store: the next start rebuilds it.
		n.log.Error("screening snapshot not saved", "err", err)
	}
	n.snap.close()
	// The traversal's merges write to the store: they stop before it closes.
	n.travMu.Lock()
	if t := n.trav.Load(); t != nil {
		if err := t.Close(); err != nil {
			n.log.Error("traversal layout not closed", "err", err)
		}
	}
	n.travMu.Unlock()
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
// attributions, shared intelligence) on first use: from the screening
// snapshot where it records the store's current sources, else from the
// store.
func (n *Node) Index(ctx context.Context) (*screen.Index, error) {
	n.indexOnce.Do(func() {
		start := time.Now()
		n.mu.Lock()
		defer n.mu.Unlock()
		from, err := n.loadIndex(ctx)
		if n.indexErr = err; err != nil {
			return
		}
		n.snap.from = from
		n.index.OnFault(n.indexFault)
		n.index.OnChange(n.indexChanged)
		n.indexReady.Store(true)
		n.log.Debug("screening index loaded", "from", from, "elapsed", time.Since(start).String())
	})
	return n.index, n.indexErr
}

// SnapshotFile is the screening snapshot's name in the data directory:
// the index's layers and the exposure engines' accounts, which a start
// maps instead of rebuilding them from the store.
const SnapshotFile = "screening.snapshot"

// snapshotState is the snapshot in use and whether what the node holds
// has moved on from it.
type snapshotState struct {
	mu sync.Mutex
	// open are the snapshots read in place: kept mapped until Close.
	open []*screen.Snapshot
	// cur is the one the node started from, nil if none was usable;
	// from says which layers came from it.
	cur  *screen.Snapshot
	from string
	// dirty says the index or the engines changed since the file was
	// written; saving serialises writes.
	dirty  atomic.Bool
	saving sync.Mutex
}

func (s *snapshotState) current() *screen.Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

func (s *snapshotState) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.open {
		f.Close()
	}
	s.open, s.cur = nil, nil
}

func (n *Node) snapshotPath() string { return filepath.Join(n.cfg.DataDir, SnapshotFile) }

// loadIndex installs each layer from the snapshot if the store's source
// is what the snapshot was built from, and reads the others from the
// store. Shared intelligence is read from the store every time: its
// objects arrive without a version the node could compare. n.mu is held.
func (n *Node) loadIndex(ctx context.Context) (string, error) {
	vs, err := n.sourceVersions(ctx)
	if err != nil {
		return "", err
	}
	var from []string
	installed := map[screen.Layer]bool{}
	if s := n.openSnapshot(); s != nil {
		m := s.Manifest()
		if m.Versions.Sanctions != "" && m.Versions.Sanctions == vs.Sanctions {
			installed[screen.LayerSanctions] = true
		}
		installed[screen.LayerTags] = m.Versions.Tags != "" && m.Versions.Tags == vs.Tags
		for _, l := range []screen.Layer{screen.LayerSanctions, screen.LayerTags} {
			if !installed[l] {
				n.log.Info("screening snapshot out of date; the layer is rebuilt from the store", "file", s.Path(), "layer", l.String())
				continue
			}
			if err := s.Install(n.index, l); err != nil {
				n.log.Warn("screening snapshot refused; the layer is rebuilt from the store", "file", s.Path(), "layer", l.String(), "err", err)
				installed[l] = false
				continue
			}
			from = append(from, l.String()+" from "+s.Path())
		}
	}
	if !installed[screen.LayerSanctions] {
		if err := n.reloadSanctions(ctx); err != nil {
			return "", err
		}
		n.index.SetVersion(screen.LayerSanctions, vs.Sanctions)
		n.snap.dirty.Store(true)
	}
	if !installed[screen.LayerTags] {
		if err := n.reloadTags(ctx); err != nil {
			return "", err
		}
		n.index.SetVersion(screen.LayerTags, vs.Tags)
		n.snap.dirty.Store(true)
	}
	if err := n.reloadIntel(ctx); err != nil {
		return "", err
	}
	if len(from) == 0 {
		return "store", nil
	}
	return strings.Join(from, ", "), nil
}

// openSnapshot opens the snapshot file if it is this store's. A file
// that fails its checks is refused with its name, removed, and rebuilt
// at the next save.
func (n *Node) openSnapshot() *screen.Snapshot {
	path := n.snapshotPath()
	s, err := screen.OpenSnapshot(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		n.snap.dirty.Store(true)
		return nil
	case err != nil:
		n.log.Warn("screening snapshot refused; rebuilding the index from the store", "file", path, "err", err)
		if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			n.log.Warn("screening snapshot not removed", "file", path, "err", rerr)
		}
		n.snap.dirty.Store(true)
		return nil
	}
	if m := s.Manifest(); m.Store != n.storeID {
		n.log.Warn("screening snapshot of another store ignored", "file", path)
		s.Close()
		n.snap.dirty.Store(true)
		return nil
	}
	n.snap.mu.Lock()
	n.snap.open = append(n.snap.open, s)
	n.snap.cur = s
	n.snap.mu.Unlock()
	return s
}

// sourceVersions identifies the store's sources now: the current list
// version, and the tags' generation, which every change of the tags
// replaces in its own batch. n.mu is held, so no import is under way.
func (n *Node) sourceVersions(ctx context.Context) (screen.Versions, error) {
	var v screen.Versions
	vs, err := sanctions.Versions(ctx, n.db)
	if err != nil {
		return v, fmt.Errorf("sanctions versions: %w", err)
	}
	v.Sanctions = "none"
	if len(vs) > 0 {
		last := vs[len(vs)-1]
		v.Sanctions = fmt.Sprintf("list:%d:%s:%d", last.Seq, last.SHA256, last.ImportedAt.UnixNano())
	}
	gen, err := n.db.TagsGeneration(ctx)
	if err != nil {
		return v, err
	}
	v.Tags = "tags:" + gen
	return v, nil
}

// indexChanged follows a change of the index's layers or policy: the
// snapshot no longer holds them. A layer just read from the store is
// named by the sources' versions now: the reload that replaced it ran
// under n.mu, so no import changed the store since it read it.
func (n *Node) indexChanged() {
	// Traces are labelled from the index.
	n.memo.Clear()
	n.snap.dirty.Store(true)
	have := n.index.Versions()
	if have.Sanctions != "" && have.Tags != "" {
		return
	}
	vs, err := n.sourceVersions(context.Background())
	if err != nil {
		// Left unnamed, the layer is not reused from the next snapshot.
		n.log.Warn("screening snapshot: source versions unknown", "err", err)
		return
	}
	if have.Sanctions == "" {
		n.index.SetVersion(screen.LayerSanctions, vs.Sanctions)
	}
	if have.Tags == "" {
		n.index.SetVersion(screen.LayerTags, vs.Tags)
	}
}

// indexFault rebuilds every layer from the store when a look-up finds
// the snapshot it reads corrupt; the file is removed and written afresh
// at the next save.
func (n *Node) indexFault(cause error) error {
	ctx := context.Background()
	n.log.Error("screening snapshot corrupt; rebuilding the index from the store", "err", cause)
	if s := n.snap.current(); s != nil {
		if err := os.Remove(s.Path()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			n.log.Warn("screening snapshot not removed", "file", s.Path(), "err", err)
		}
	}
	vs, err := n.sourceVersions(ctx)
	if err != nil {
		return err
	}
	if err := n.reloadSanctions(ctx); err != nil {
		return err
	}
	n.index.SetVersion(screen.LayerSanctions, vs.Sanctions)
	if err := n.reloadTags(ctx); err != nil {
		return err
	}
	n.index.SetVersion(screen.LayerTags, vs.Tags)
	n.snap.dirty.Store(true)
	return nil
}

// SaveSnapshot writes the screening snapshot: the index's layers and, if
// built, the exposure engines, atomically (a temporary file, synced,
// renamed over the old one). Unless force, it writes only if the index
// or the engines changed since the file was read or written.
func (n *Node) SaveSnapshot(ctx context.Context, force bool) error {
	n.snap.saving.Lock()
	defer n.snap.saving.Unlock()
	if !n.indexReady.Load() || (!force && !n.snap.dirty.Load()) {
		return nil
	}
	// Clear first: a change while the file is written marks it again.
	n.snap.dirty.Store(false)
	start := time.Now()
	// The layers are immutable and carry the versions of what they were
	// read from (loadIndex, indexChanged).
	layers := n.index.Layers()
	sv := screen.Saving{Store: n.storeID, Layers: layers, Now: n.now()}
	// Engines a quick pass added sources to wait for their rebuild.
	if set := n.exp.set.Load(); set != nil && set.layers != nil && !set.quick.Load() {
		d, err := set.layers.Digest()
		if err == nil && set.layers.Err() == nil {
			sv.Sources = d
			for _, c := range graphChains {
				if e := set.byChain[c]; e != nil && e.Err() == nil {
					sv.Engines = append(sv.Engines, e)
				}
			}
		}
	}
	m, err := screen.WriteSnapshot(n.snapshotPath(), sv)
	if err != nil {
		n.snap.dirty.Store(true)
		return err
	}
	n.log.Info("screening snapshot written", "file", n.snapshotPath(), "engines", len(m.Engines), "elapsed", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// traceGraph is the graph traces read now: the traversal layout, opened
// on first use, so that commands that trace nothing (screening, imports)
// do not pay for checking its segments.
func (n *Node) traceGraph(ctx context.Context) *trace.CachedGraph {
	if n.trav.Load() == nil {
		n.openTraversal(ctx)
	}
	return n.graph.Load()
}

// openTraversal opens the store's traversal layout and has traces read
// it. Where it cannot be opened, traces read the store, which holds the
// same transfers and is slower to walk: that is said, and the next trace
// tries again.
func (n *Node) openTraversal(ctx context.Context) {
	n.travMu.Lock()
	defer n.travMu.Unlock()
	if n.trav.Load() != nil {
		return
	}
	start := time.Now()
	t, err := n.db.Graph().Traversal(ctx, graph.TraversalOptions{Logf: func(format string, args ...any) {
		n.log.Warn(fmt.Sprintf(format, args...))
	}})
	if err != nil {
		if ctx.Err() == nil {
			n.log.Error("traversal layout not opened: traces read the store", "err", err)
		}
		return
	}
	n.trav.Store(t)
	n.refreshGraph()
	n.log.Info("traversal layout opened", "elapsed", time.Since(start).Round(time.Millisecond).String())
}

// refreshGraph drops every cached posting.
func (n *Node) refreshGraph() {
	n.memo.Clear()
	var g trace.Graph = n.db.Graph()
	if t := n.trav.Load(); t != nil {
		g = t
	}
	n.graph.Store(trace.NewCachedGraph(g, traceCacheBudget))
}

// graphChanged keeps the trace cache true to the store as an ingest
// writes: the histories a batch changed are dropped, the rest stay warm,
// so that watches rerun on every block at the cache's speed.
func (n *Node) graphChanged(c chain.Chain) func(addrs []string, all bool) {
	return func(addrs []string, all bool) {
		if all {
			n.refreshGraph()
		} else {
			n.memo.Clear()
			n.graph.Load().Forget(c, addrs)
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
