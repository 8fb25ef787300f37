package node

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/tracehound/tracehound/sanctions"
	"github.com/tracehound/tracehound/tags"
)

func (n *Node) reloadSanctions(ctx context.Context) error {
	start := time.Now()
	entries, err := sanctions.Current(ctx, n.db)
	if err != nil {
		return fmt.Errorf("load sanctions: %w", err)
	}
	n.index.SetSanctions(entries)
	n.log.Debug("sanctions loaded", "entries", len(entries), "elapsed", time.Since(start).String())
	return nil
}

func (n *Node) reloadTags(ctx context.Context) error {
	start := time.Now()
	all, err := n.db.AllTags(ctx)
	if err != nil {
		return fmt.Errorf("load tags: %w", err)
	}
	n.index.SetTags(all)
	n.log.Debug("tags loaded", "tags", len(all), "elapsed", time.Since(start).String())
	return nil
}

// SanctionsImport says how to read a list file.
type SanctionsImport struct {
	// Path is the file; Name the name it is known by (an upload's).
	Path, Name string
	sanctions.ParseOptions
	// Force imports a list older than the current version.
	Force bool
}

// ImportSanctions parses a list file and, if it is new, stores it as the
// current version and swaps the index's sanctions layer. A file that does
// not parse changes nothing. The import is audited.
func (n *Node) ImportSanctions(ctx context.Context, in SanctionsImport) (sanctions.ImportResult, error) {
	if _, err := n.Index(ctx); err != nil {
		return sanctions.ImportResult{}, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	name := in.Name
	if name == "" {
		name = filepath.Base(in.Path)
	}
	list, err := sanctions.ParseFile(ctx, in.Path, in.ParseOptions)
	if err != nil {
		return sanctions.ImportResult{}, fmt.Errorf("%s: %w; nothing was imported", name, err)
	}
	res, err := sanctions.Import(ctx, n.db, list, n.now().UTC(), in.Force)
	if err != nil {
		return sanctions.ImportResult{}, fmt.Errorf("%s: %w", name, err)
	}
	if err := n.record(ctx, "sanctions.import", name, map[string]string{"result": res.String(), "entries": strconv.Itoa(len(list.Entries))}); err != nil {
		return res, err
	}
	if err := n.reloadSanctions(ctx); err != nil {
		return res, err
	}
	n.screeningChanged(ctx)
	n.log.Info("sanctions imported", "file", name, "entries", len(list.Entries))
	return res, nil
}

// SyncSanctions fetches a list over HTTP with a conditional request and
// imports it if it changed.
func (n *Node) SyncSanctions(ctx context.Context, url string) (sanctions.SyncResult, error) {
	if _, err := n.Index(ctx); err != nil {
		return sanctions.SyncResult{}, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	res, err := sanctions.Sync(ctx, n.db, &http.Client{Timeout: 10 * time.Minute}, url, n.now())
	if err != nil {
		return res, err
	}
	if err := n.record(ctx, "sanctions.sync", url, map[string]string{"result": res.String()}); err != nil {
		return res, err
	}
	if err := n.reloadSanctions(ctx); err != nil {
		return res, err
	}
	n.screeningChanged(ctx)
	return res, nil
}

// SanctionsVersions lists the stored list versions, oldest first.
func (n *Node) SanctionsVersions(ctx context.Context) ([]sanctions.Version, error) {
	return sanctions.Versions(ctx, n.db)
}

// SanctionsChanges lists what version seq added and removed; seq 0 is the
// latest.
func (n *Node) SanctionsChanges(ctx context.Context, seq int) ([]sanctions.Change, error) {
	if seq == 0 {
		vs, err := sanctions.Versions(ctx, n.db)
		if err != nil {
			return nil, err
		}
		if len(vs) == 0 {
			return nil, fmt.Errorf("no list imported yet")
		}
		seq = vs[len(vs)-1].Seq
	}
	return n.db.SanctionsChanges(ctx, seq)
}

// ImportTags imports a TagPack or label file uploaded under its original
// name, so that uploading a newer version of a pack replaces the older one.
func (n *Node) ImportTags(ctx context.Context, path, name string) (tags.Report, error) {
	dir, err := os.MkdirTemp("", "tracehound-tags-*")
	if err != nil {
		return tags.Report{}, fmt.Errorf("import tags: %w", err)
	}
	defer os.RemoveAll(dir)
	named := filepath.Join(dir, filepath.Base(name))
	if err := os.Link(path, named); err != nil {
		if err := copyFile(path, named); err != nil {
			return tags.Report{}, fmt.Errorf("import tags: %w", err)
		}
	}
	return n.ImportTagsPath(ctx, named)
}

// ImportTagsPath imports a tag file or a directory of them, and audits
// the import.
func (n *Node) ImportTagsPath(ctx context.Context, path string) (tags.Report, error) {
	if _, err := n.Index(ctx); err != nil {
		return tags.Report{}, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	rep, err := tags.Import(ctx, n.db, n.parser, path, tags.ImportOptions{})
	if err != nil {
		return rep, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	if err := n.record(ctx, "tags.import", filepath.Base(path), map[string]string{"result": rep.String()}); err != nil {
		return rep, err
	}
	if err := n.reloadTags(ctx); err != nil {
		return rep, err
	}
	n.screeningChanged(ctx)
	return rep, nil
}

// Tags lists the tags on an address.
func (n *Node) Tags(ctx context.Context, addr string, hint string) ([]tags.Tag, error) {
	c, err := lookupChain(hint, true)
	if err != nil {
		return nil, err
	}
	a, err := n.parser.Parse(addr, c)
	if err != nil {
		return nil, inputErr(err)
	}
	all, err := n.db.AllTags(ctx)
	if err != nil {
		return nil, err
	}
	var out []tags.Tag
	for _, t := range all {
		if t.Address.Key() == a.Key() {
			out = append(out, t)
		}
	}
	return out, nil
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

// ImportSanctionsFile imports an uploaded list file under its name, for
// the admin API.
func (n *Node) ImportSanctionsFile(ctx context.Context, path, name string) (sanctions.ImportResult, error) {
	return n.ImportSanctions(ctx, SanctionsImport{Path: path, Name: name})
}
