package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/tracehound/tracehound/store/graph"
)

// Explorer shows investigators what the transfer graph and the shared
// intelligence hold: an address's totals and history, and the feed of
// what partners sent and this node shared.
type Explorer interface {
	AddressTotals(ctx context.Context, chain, address string) (graph.Totals, bool, error)
	AddressTransfers(ctx context.Context, chain, address string, before time.Time, limit int) ([]graph.Posting, time.Time, error)
	IntelFeed(ctx context.Context, limit int) ([]FeedItem, error)
}

// FeedItem is one object of the node's shared intelligence.
type FeedItem struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	Collection  string `json:"collection"`
	// Partner is who wrote it: a peer, a partner's key, or "this node".
	Partner string    `json:"partner"`
	TLP     string    `json:"tlp"`
	Time    time.Time `json:"time"`
	// Received is true for what partners sent, false for what this node
	// shared.
	Received bool `json:"received"`
}

func (s *Server) explorerError(w http.ResponseWriter, r *http.Request, what string, err error) {
	var ie *InputError
	if errors.As(err, &ie) {
		writeError(w, r, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	s.internalError(w, r, what, err)
}

// addressTotals answers GET /v1/addresses/{chain}/{address}/totals.
func (s *Server) addressTotals(w http.ResponseWriter, r *http.Request) {
	t, ok, err := s.cfg.Explorer.AddressTotals(r.Context(), r.PathValue("chain"), r.PathValue("address"))
	switch {
	case err != nil:
		s.explorerError(w, r, "read totals", err)
	case !ok:
		writeError(w, r, http.StatusNotFound, "not_found", "the transfer graph holds nothing of this address")
	default:
		writeJSON(w, http.StatusOK, map[string]any{"totals": t.Assets, "first_seen": t.FirstSeen, "last_seen": t.LastSeen,
			"incoming_transfers": t.Incoming, "outgoing_transfers": t.Outgoing, "fees_paid": t.FeesPaid})
	}
}

// addressTransfers answers GET /v1/addresses/{chain}/{address}/transfers
// ?limit=N&before=CURSOR, newest first; next is the cursor of the next
// page, absent at the end.
func (s *Server) addressTransfers(w http.ResponseWriter, r *http.Request) {
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, r, http.StatusBadRequest, "bad_request", "limit: want 1 to 1000")
			return
		}
		limit = n
	}
	var before time.Time
	if v := r.URL.Query().Get("before"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			writeError(w, r, http.StatusBadRequest, "bad_request", "before: the next cursor of a previous page")
			return
		}
		before = t
	}
	ps, next, err := s.cfg.Explorer.AddressTransfers(r.Context(), r.PathValue("chain"), r.PathValue("address"), before, limit)
	if err != nil {
		s.explorerError(w, r, "read transfers", err)
		return
	}
	if ps == nil {
		ps = []graph.Posting{}
	}
	body := map[string]any{"transfers": ps}
	if !next.IsZero() {
		body["next"] = next.UTC().Format(time.RFC3339Nano)
	}
	writeJSON(w, http.StatusOK, body)
}

// intelFeed answers GET /v1/intel/feed?limit=N.
func (s *Server) intelFeed(w http.ResponseWriter, r *http.Request) {
	limit := 200
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, r, http.StatusBadRequest, "bad_request", "limit: want 1 to 1000")
			return
		}
		limit = n
	}
	items, err := s.cfg.Explorer.IntelFeed(r.Context(), limit)
	if err != nil {
		s.explorerError(w, r, "read the intelligence feed", err)
		return
	}
	if items == nil {
		items = []FeedItem{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}
