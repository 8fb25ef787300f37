package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracehound/tracehound/audit"
	"github.com/tracehound/tracehound/chain"
	"github.com/tracehound/tracehound/sanctions"
	"github.com/tracehound/tracehound/screen"
	"github.com/tracehound/tracehound/store/pebble"
	"github.com/tracehound/tracehound/tags"
	"github.com/tracehound/tracehound/taxii"
	"github.com/tracehound/tracehound/trace"
	"github.com/tracehound/tracehound/watch"
)

// service wires the domains over one open store: it loads the screening
// index at start and keeps it current as imports land. It implements
// api.Admin.
type service struct {
	db     *pebble.DB
	parser *chain.Parser
	index  *screen.Index
	log    *slog.Logger
	audit  *audit.Log
	// graph serves traces: the store with recently traced addresses'
	// transfers kept in memory. An ingest in the same process drops the
	// histories each batch changes (see graphChanged).
	graph atomic.Pointer[trace.CachedGraph]
	// watches keeps the live traces and their alerts.
	watches *watch.Service
	// tx adds the objects the node publishes itself (shared watches'
	// alerts) to its TAXII collections. It is the server's own instance
	// when serving, since one instance serialises a collection's writes.
	tx *taxii.Server
	// intelDirty signals that received intelligence awaits indexing.
	intelDirty chan struct{}
	// mu serialises imports: each replaces a whole index layer.
	mu sync.Mutex
}

// traceCacheBudget is the postings the trace cache holds: about 160 MB,
// and at most 450 MB of the strings they refer to.
const traceCacheBudget = 2_000_000

func newService(ctx context.Context, db *pebble.DB, log *slog.Logger) (*service, error) {
	p := newAddressParser()
	al := audit.New(db)
	s := &service{db: db, parser: p, index: screen.NewIndex(p, screen.DefaultPolicy()), log: log, audit: al, intelDirty: make(chan struct{}, 1)}
	s.watches = watch.NewService(db, al, s)
	s.tx = s.newTAXII()
	s.refreshGraph()
	if err := s.reloadSanctions(ctx); err != nil {
		return nil, err
	}
	if err := s.reloadTags(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// traceGraph is the graph traces read now.
func (s *service) traceGraph() *trace.CachedGraph { return s.graph.Load() }

// refreshGraph drops every cached posting.
func (s *service) refreshGraph() { s.graph.Store(trace.NewCachedGraph(s.db.Graph(), traceCacheBudget)) }

// graphChanged keeps the trace cache true to the store as an ingest
// writes: the histories a batch changed are dropped, the rest stay warm,
// so that watches rerun on every block at the cache's speed.
func (s *service) graphChanged(c chain.Chain) func(addrs []string, all bool) {
	return func(addrs []string, all bool) {
		if all {
			s.refreshGraph()
			return
		}
		s.traceGraph().Forget(c, addrs)
	}
}

func (s *service) reloadSanctions(ctx context.Context) error {
	start := time.Now()
	entries, err := sanctions.Current(ctx, s.db)
	if err != nil {
		return fmt.Errorf("load sanctions: %w", err)
	}
	s.index.SetSanctions(entries)
	s.log.Debug("sanctions loaded", "entries", len(entries), "elapsed", time.Since(start).String())
	return nil
}

func (s *service) reloadTags(ctx context.Context) error {
	start := time.Now()
	all, err := s.db.AllTags(ctx)
	if err != nil {
		return fmt.Errorf("load tags: %w", err)
	}
	s.index.SetTags(all)
	s.log.Debug("tags loaded", "tags", len(all), "elapsed", time.Since(start).String())
	return nil
}

// ImportSanctions parses a list file and, if it is new, stores it as the
// current version and swaps the index's sanctions layer. A file that does
// not parse changes nothing.
func (s *service) ImportSanctions(ctx context.Context, path, name string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list, err := sanctions.ParseFile(ctx, path, sanctions.ParseOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	res, err := sanctions.Import(ctx, s.db, list, time.Now().UTC(), false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := s.reloadSanctions(ctx); err != nil {
		return nil, err
	}
	s.log.Info("sanctions imported", "file", name, "entries", len(list.Entries))
	return res, nil
}

// ImportTags imports a TagPack or label file under its original name, so
// that uploading a newer version of a pack replaces the older one.
func (s *service) ImportTags(ctx context.Context, path, name string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	dir, err := os.MkdirTemp("", "tracehound-tags-*")
	if err != nil {
		return nil, fmt.Errorf("import tags: %w", err)
	}
	defer os.RemoveAll(dir)
	named := filepath.Join(dir, filepath.Base(name))
	if err := os.Link(path, named); err != nil {
		if err := copyFile(path, named); err != nil {
			return nil, fmt.Errorf("import tags: %w", err)
		}
	}
	return s.importTagsLocked(ctx, named)
}

// importTagsPath imports a tag file or a directory of them.
func (s *service) importTagsPath(ctx context.Context, path string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.importTagsLocked(ctx, path)
}

func (s *service) importTagsLocked(ctx context.Context, path string) (any, error) {
	rep, err := tags.Import(ctx, s.db, s.parser, path, tags.ImportOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	if err := s.reloadTags(ctx); err != nil {
		return nil, err
	}
	return rep, nil
}

// SanctionsVersions lists the stored list versions, oldest first.
func (s *service) SanctionsVersions(ctx context.Context) (any, error) {
	return sanctions.Versions(ctx, s.db)
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
