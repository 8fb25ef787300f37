package sanctions

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// SyncState holds a list URL's HTTP validators from the last fetch.
type SyncState struct {
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	Checked      time.Time `json:"checked"`
}

// SyncStore is a Store that also remembers validators per URL.
type SyncStore interface {
	Store
	SyncState(ctx context.Context, url string) (SyncState, error)
	PutSyncState(ctx context.Context, url string, s SyncState) error
}

// SyncResult says what a sync did.
type SyncResult struct {
	NotModified bool          `json:"not_modified,omitempty"`
	Import      *ImportResult `json:"import,omitempty"`
}

func (r SyncResult) String() string {
	if r.NotModified {
		return "not modified since the last sync"
	}
	return r.Import.String()
}

// Sync fetches a list with a conditional GET (If-None-Match,
// If-Modified-Since from the last fetch) and imports it if it changed. A
// download or parse failure leaves the current version in force; the
// validators are only recorded once the list is imported, so a failed
// sync is retried in full next time.
func Sync(ctx context.Context, st SyncStore, client *http.Client, url string, now time.Time) (SyncResult, error) {
	state, err := st.SyncState(ctx, url)
	if err != nil {
		return SyncResult{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return SyncResult{}, err
	}
	if state.ETag != "" {
		req.Header.Set("If-None-Match", state.ETag)
	}
	if state.LastModified != "" {
		req.Header.Set("If-Modified-Since", state.LastModified)
	}
	resp, err := client.Do(req)
	if err != nil {
		return SyncResult{}, fmt.Errorf("fetch %s: %w", url, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		state.Checked = now.UTC()
		return SyncResult{NotModified: true}, st.PutSyncState(ctx, url, state)
	case resp.StatusCode != http.StatusOK:
		return SyncResult{}, fmt.Errorf("fetch %s: %s; the current list stays in force", url, resp.Status)
	}
	f, err := os.CreateTemp("", "tracehound-list-*")
	if err != nil {
		return SyncResult{}, err
	}
	defer os.Remove(f.Name())
	n, err := io.Copy(f, resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return SyncResult{}, fmt.Errorf("download %s after %d bytes: %w; the current list stays in force", url, n, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return SyncResult{}, fmt.Errorf("download %s: %d of %d bytes; the current list stays in force", url, n, resp.ContentLength)
	}
	l, err := ParseFile(ctx, f.Name(), ParseOptions{})
	if err != nil {
		return SyncResult{}, fmt.Errorf("%s: %w; the current list stays in force", url, err)
	}
	res, err := Import(ctx, st, l, now, false)
	if err != nil {
		return SyncResult{}, err
	}
	state = SyncState{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"), Checked: now.UTC()}
	if err := st.PutSyncState(ctx, url, state); err != nil {
		return SyncResult{}, err
	}
	return SyncResult{Import: &res}, nil
}
