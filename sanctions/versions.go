package sanctions

import (
	"context"
	"fmt"
	"time"
)

// Version is one imported list version.
type Version struct {
	Seq        int       `json:"seq"`
	Source     string    `json:"source"`
	ListDate   time.Time `json:"list_date"`
	ImportedAt time.Time `json:"imported_at"`
	SHA256     string    `json:"sha256"`
	File       string    `json:"file"`
	Format     string    `json:"format"`
	Entries    int       `json:"entries"`
	Added      int       `json:"added"`
	Removed    int       `json:"removed"`
}

// Change is an address added to or removed from the list by a version.
type Change struct {
	Seq      int       `json:"seq"`
	ListDate time.Time `json:"list_date"`
	Kind     string    `json:"kind"` // "added" or "removed"
	Entry    Entry     `json:"entry"`
}

// Store keeps list versions. Put is atomic: the version, its changes and
// the new current set land together or not at all.
type Store interface {
	SanctionsVersions(ctx context.Context) ([]Version, error)
	CurrentSanctions(ctx context.Context) ([]Entry, error)
	PutSanctionsVersion(ctx context.Context, v Version, current []Entry, changes []Change) error
	SanctionsChanges(ctx context.Context, seq int) ([]Change, error)
}

// ImportResult says what an import did.
type ImportResult struct {
	Version   Version `json:"version"`
	Unchanged bool    `json:"unchanged,omitempty"` // the same file was imported before
}

func (r ImportResult) String() string {
	if r.Unchanged {
		return fmt.Sprintf("list of %s already imported as version %d; nothing changed", r.Version.ListDate.Format(time.DateOnly), r.Version.Seq)
	}
	v := r.Version
	return fmt.Sprintf("version %d (list of %s): %d addresses, %d added, %d removed", v.Seq, v.ListDate.Format(time.DateOnly), v.Entries, v.Added, v.Removed)
}

// identity is what makes two entries the same listing.
func identity(e Entry) string { return e.Asset + "\x00" + e.Address + "\x00" + e.Party.FixedRef }

// Import stores l as the current version, recording additions and
// removals against the previous one, dated with l's list date. The same
// file imported again changes nothing; a list older than the current one
// is refused unless force is set, so that a stale download never undoes a
// designation.
func Import(ctx context.Context, st Store, l *List, now time.Time, force bool) (ImportResult, error) {
	versions, err := st.SanctionsVersions(ctx)
	if err != nil {
		return ImportResult{}, err
	}
	for _, v := range versions {
		if v.SHA256 == l.SHA256 {
			return ImportResult{Version: v, Unchanged: true}, nil
		}
	}
	var prev []Entry
	if len(versions) > 0 {
		last := versions[len(versions)-1]
		if l.Date.Before(last.ListDate) && !force {
			return ImportResult{}, fmt.Errorf("list of %s is older than the current version %d of %s; import it with force to roll back",
				l.Date.Format(time.DateOnly), last.Seq, last.ListDate.Format(time.DateOnly))
		}
		if prev, err = st.CurrentSanctions(ctx); err != nil {
			return ImportResult{}, err
		}
	}
	v := Version{Seq: len(versions) + 1, Source: l.Source, ListDate: l.Date, ImportedAt: now.UTC(), SHA256: l.SHA256,
		File: l.File, Format: l.Format, Entries: len(l.Entries)}
	changes := Diff(prev, l.Entries)
	for i := range changes {
		changes[i].Seq, changes[i].ListDate = v.Seq, l.Date
		if changes[i].Kind == "added" {
			v.Added++
		} else {
			v.Removed++
		}
	}
	if err := st.PutSanctionsVersion(ctx, v, l.Entries, changes); err != nil {
		return ImportResult{}, fmt.Errorf("store version %d: %w", v.Seq, err)
	}
	return ImportResult{Version: v}, nil
}

// Diff returns the entries of next not in prev (added) and of prev not in
// next (removed), in list order.
func Diff(prev, next []Entry) []Change {
	in := make(map[string]bool, len(prev))
	for _, e := range prev {
		in[identity(e)] = true
	}
	out := make(map[string]bool, len(next))
	var changes []Change
	for _, e := range next {
		k := identity(e)
		out[k] = true
		if !in[k] {
			changes = append(changes, Change{Kind: "added", Entry: e})
		}
	}
	for _, e := range prev {
		if !out[identity(e)] {
			changes = append(changes, Change{Kind: "removed", Entry: e})
		}
	}
	return changes
}

// Current returns the entries of the current version.
func Current(ctx context.Context, st Store) ([]Entry, error) { return st.CurrentSanctions(ctx) }

// Versions lists the versions, oldest first.
func Versions(ctx context.Context, st Store) ([]Version, error) { return st.SanctionsVersions(ctx) }
